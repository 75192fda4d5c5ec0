"""Tiny random-weight decoder (LLM-based) rerankers in the Qwen3-Reranker layout, with a tokenizer trained here.

`fam-qwen3` is a `Qwen3ForCausalLM` with a byte-level BPE tokenizer in Qwen2's pipeline and a chat template that
renders a (query, document) pair the way Qwen3-Reranker's prompt reads: a fixed system text, the instruction (the
system message sentence-transformers passes as `prompt`, or a default), the query, the document, and the assistant
turn with an empty think block. sentence-transformers scores it as logit("yes") - logit("no") at the last position.

`fam-qwen3`'s graph is written in the form the engine scores, `answer_logits` [batch, 2]: the logits of "yes" and "no"
at the last position (rows are left-padded), the rest of the vocabulary and the other positions never computed.
Variants share the weights and tokenizer:
- `fam-qwen3-kv`: the graph laid out like the hub's Transformers.js export (`position_ids`, `past_key_values.N.key`
  / `.value` inputs, `present.N.*` outputs), fed an empty past for one pass;
- `fam-qwen3-seq-cls`: the single-logit conversion, a `Qwen3ForSequenceClassification` whose one row is
  lm_head[yes] - lm_head[no], pooling the last non-padding token.

Used by build_models.py; the golden files for these models come from `decoder_golden`.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

SEED = 0
VOCAB = 1500
HIDDEN, LAYERS, HEADS, KV_HEADS, HEAD_DIM, INTERMEDIATE = 64, 2, 4, 2, 16, 128
MAX_POSITIONS = 4096
# Short enough to cut most documents (the fixed prompt alone is about 110 tokens with this small vocabulary), long
# enough for whole pairs.
GOLDEN_LENGTHS = (160, 512)
DEFAULT_INSTRUCTION = "Given a web search query, retrieve relevant passages that answer the query"
# A second instruction the golden files score with, passed as sentence-transformers' `prompt`.
CUSTOM_INSTRUCTION = "Given a scientific claim, judge whether the passage supports it"
SYSTEM_TEXT = (
    'Judge whether the Document meets the requirements based on the Query and the Instruct provided. '
    'Note that the answer can only be "yes" or "no".'
)

# name -> (graph layout, model class)
DECODERS = {
    "fam-qwen3": ("answers", "causal"),
    "fam-qwen3-kv": ("past", "causal"),
    "fam-qwen3-seq-cls": ("plain", "seq-cls"),
}

# The prompt of Qwen3-Reranker, written as a chat template over the roles sentence-transformers gives a pair
# (`query`, `document`; the instruction arrives as a `system` message). Messages are flat (content is a string).
CHAT_TEMPLATE = (
    "{%- set ns = namespace(instruction='" + DEFAULT_INSTRUCTION + "', query='', document='') -%}\n"
    "{%- for message in messages -%}\n"
    "  {%- if message.role == 'system' -%}{%- set ns.instruction = message.content -%}\n"
    "  {%- elif message.role == 'query' -%}{%- set ns.query = message.content -%}\n"
    "  {%- elif message.role == 'document' -%}{%- set ns.document = message.content -%}\n"
    "  {%- endif -%}\n"
    "{%- endfor -%}\n"
    "<|im_start|>system\n" + SYSTEM_TEXT + "<|im_end|>\n"
    "<|im_start|>user\n"
    "<Instruct>: {{ ns.instruction }}\n"
    "<Query>: {{ ns.query }}\n"
    "<Document>: {{ ns.document }}<|im_end|>\n"
    "<|im_start|>assistant\n"
    "<think>\n\n</think>\n\n"
)

# Qwen2's pre-tokenizer split (the regex of its tokenizer.json).
QWEN2_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
# Added but not special in Qwen3's tokenizer: they render as text when decoded.
ADDED = ["<think>", "</think>"]


def _seed() -> None:
    import random

    import torch

    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)


def make_tokenizer(lines: list[str]):
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
        trainers,
    )
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE(fuse_unk=False, byte_fallback=False))
    backend.normalizer = normalizers.NFC()
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_SPLIT), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    backend.decoder = decoders.ByteLevel()
    # Qwen2's file carries a ByteLevel post-processor: it only adjusts offsets and adds no tokens.
    backend.post_processor = processors.ByteLevel(add_prefix_space=False, trim_offsets=False, use_regex=False)
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB,
        min_frequency=2,
        show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=SPECIALS,
    )
    # The answer words and the prompt's fixed text, often enough to become whole tokens as in Qwen's vocabulary.
    prompt_text = [SYSTEM_TEXT, DEFAULT_INSTRUCTION, CUSTOM_INSTRUCTION, "<Instruct>: <Query>: <Document>:"]
    backend.train_from_iterator(lines + (["yes", "no"] * 200) + prompt_text * 20, trainer=trainer)
    backend.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in SPECIALS])
    backend.add_tokens([AddedToken(t, special=False, normalized=False) for t in ADDED])
    vocab = backend.get_vocab()
    for word in ("yes", "no"):
        if word not in vocab:
            raise RuntimeError(f"the trained vocabulary has no single token {word!r}")
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        model_max_length=MAX_POSITIONS,
        chat_template=CHAT_TEMPLATE,
        model_input_names=["input_ids", "attention_mask"],
    )


def make_config(tokenizer):
    from transformers import Qwen3Config

    return Qwen3Config(
        vocab_size=len(tokenizer),
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        num_key_value_heads=KV_HEADS,
        head_dim=HEAD_DIM,
        intermediate_size=INTERMEDIATE,
        max_position_embeddings=MAX_POSITIONS,
        rope_theta=1_000_000.0,
        tie_word_embeddings=False,
        initializer_range=0.2,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )


def make_causal(tokenizer):
    import torch
    from transformers import Qwen3ForCausalLM

    _seed()
    model = Qwen3ForCausalLM(make_config(tokenizer))
    # Spread the two answer rows so yes - no covers a few units rather than sitting near zero.
    g = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for word in ("yes", "no"):
            row = tokenizer.convert_tokens_to_ids(word)
            model.lm_head.weight[row] = torch.randn(HIDDEN, generator=g) * 0.6
    return model.eval()


def make_seq_cls(causal, tokenizer):
    """The single-logit conversion: one score row, lm_head[yes] - lm_head[no], over the same decoder."""
    import torch
    from transformers import Qwen3ForSequenceClassification

    config = make_config(tokenizer)
    config.num_labels = 1
    config.architectures = ["Qwen3ForSequenceClassification"]
    model = Qwen3ForSequenceClassification(config)
    model.model.load_state_dict(causal.model.state_dict())
    yes, no = (tokenizer.convert_tokens_to_ids(w) for w in ("yes", "no"))
    with torch.no_grad():
        model.score.weight.copy_((causal.lm_head.weight[yes] - causal.lm_head.weight[no]).unsqueeze(0))
    return model.eval()


class _Plain:
    """Logits from input ids and the attention mask only."""

    def __new__(cls, model):
        import torch

        class Graph(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, input_ids, attention_mask):
                return self.model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).logits

        return Graph().eval()


class _Answers:
    """The answer logits only: the last position's hidden state times the "yes" and "no" rows of the head."""

    def __new__(cls, model, answer_ids):
        import torch

        class Graph(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model
                self.register_buffer("head", model.lm_head.weight[list(answer_ids)].detach().clone())

            def forward(self, input_ids, attention_mask):
                hidden = self.model.model(input_ids=input_ids, attention_mask=attention_mask, use_cache=False)
                return hidden.last_hidden_state[:, -1] @ self.head.T

        return Graph().eval()


class _Past:
    """The Transformers.js layout: ids, mask, positions and a past per layer in; logits and presents out."""

    def __new__(cls, model):
        import torch
        from transformers import DynamicCache

        class Graph(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, input_ids, attention_mask, position_ids, *past):
                cache = DynamicCache(config=model.config)
                for layer in range(LAYERS):
                    cache.update(past[2 * layer], past[2 * layer + 1], layer)
                out = self.model(
                    input_ids=input_ids,
                    attention_mask=attention_mask,
                    position_ids=position_ids,
                    past_key_values=cache,
                    use_cache=True,
                )
                presents = []
                for layer in range(LAYERS):
                    presents += [out.past_key_values.layers[layer].keys, out.past_key_values.layers[layer].values]
                return (out.logits, *presents)

        return Graph().eval()


def _positions(mask):
    """Positions counted over real tokens, as Transformers.js feeds them (padding gets 1)."""
    import torch

    pos = mask.long().cumsum(-1) - 1
    return pos.masked_fill(mask == 0, 1)


def export_onnx(model, tokenizer, onnx_dir: Path, layout: str, log) -> float:
    import onnx
    import onnxruntime as ort
    import torch

    onnx_dir.mkdir(parents=True, exist_ok=True)
    path = onnx_dir / "model.onnx"
    tokenizer.padding_side = "left"
    enc = tokenizer(["a short text", "another text, longer than the first one is"], padding=True, return_tensors="pt")
    ids, mask = enc["input_ids"], enc["attention_mask"]
    answer_ids = [tokenizer.convert_tokens_to_ids(w) for w in ("yes", "no")]
    if layout in ("plain", "answers"):
        graph = _Plain(model) if layout == "plain" else _Answers(model, answer_ids)
        names = ["input_ids", "attention_mask"]
        args = (ids, mask)
        axes = {n: {0: "batch_size", 1: "sequence_length"} for n in names}
        outputs = ["logits" if layout == "plain" else "answer_logits"]
        axes[outputs[0]] = {0: "batch_size", 1: "sequence_length"} if layout == "plain" else {0: "batch_size"}
    else:
        graph = _Past(model)
        names = ["input_ids", "attention_mask", "position_ids"]
        past_names, present_names = [], []
        for layer in range(LAYERS):
            for kind in ("key", "value"):
                past_names.append(f"past_key_values.{layer}.{kind}")
                present_names.append(f"present.{layer}.{kind}")
        # Traced with a past of one token, so the past length is a real dimension of the graph.
        past = tuple(torch.zeros(ids.shape[0], KV_HEADS, 1, HEAD_DIM) for _ in past_names)
        full_mask = torch.cat([torch.ones(ids.shape[0], 1, dtype=mask.dtype), mask], dim=1)
        args = (ids, full_mask, _positions(mask) + 1, *past)
        names += past_names
        outputs = ["logits", *present_names]
        axes = {
            "input_ids": {0: "batch_size", 1: "sequence_length"},
            "attention_mask": {0: "batch_size", 1: "total_sequence_length"},
            "position_ids": {0: "batch_size", 1: "sequence_length"},
            "logits": {0: "batch_size", 1: "sequence_length"},
        }
        for n in past_names:
            axes[n] = {0: "batch_size", 2: "past_sequence_length"}
        for n in present_names:
            axes[n] = {0: "batch_size", 2: "total_sequence_length"}
    with torch.no_grad():
        torch.onnx.export(
            graph,
            args,
            str(path),
            input_names=names,
            output_names=outputs,
            dynamic_axes=axes,
            opset_version=17,
            do_constant_folding=True,
            dynamo=False,
        )
    onnx.checker.check_model(str(path))
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    got = [i.name for i in sess.get_inputs()]
    if got != names:
        raise RuntimeError(f"{path}: inputs {got}, expected {names}")
    # Compare with the model itself on left-padded batches, the past fed empty.
    worst = 0.0
    texts = ["q", "what is the capital of france? " + "Paris is the capital and largest city. " * 6]
    for batch in (texts[:1], texts):
        enc = tokenizer(batch, padding=True, return_tensors="pt")
        with torch.no_grad():
            ref = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], use_cache=False).logits
        feeds = {"input_ids": enc["input_ids"].numpy(), "attention_mask": enc["attention_mask"].numpy()}
        if layout == "past":
            feeds["position_ids"] = _positions(enc["attention_mask"]).numpy()
            for n in names[3:]:
                feeds[n] = np.zeros((len(batch), KV_HEADS, 0, HEAD_DIM), dtype=np.float32)
        out = sess.run(None, feeds)[0]
        ref = ref.numpy()
        if layout == "answers":  # the last position's yes and no
            ref = ref[:, -1, answer_ids]
        elif ref.ndim == 3:  # a causal LM: only real positions count, padding is masked out of every real token
            real = enc["attention_mask"].numpy().astype(bool)
            out, ref = out[real], ref[real]
        worst = max(worst, float(np.abs(out - ref).max()))
    if worst > 1e-4:
        raise RuntimeError(f"{path}: ONNX differs from PyTorch by {worst:.2e}")
    log(f"    onnx inputs {names[:3]}{' + past' if layout == 'past' else ''}, max |onnx - torch| = {worst:.2e}")
    return worst


def build_decoder(name: str, dst: Path, data_dir: Path, log) -> None:
    from sentence_transformers import CrossEncoder

    from families import training_text

    layout, kind = DECODERS[name]
    tokenizer = make_tokenizer(training_text(data_dir))
    causal = make_causal(tokenizer)
    model = causal if kind == "causal" else make_seq_cls(causal, tokenizer)
    staging = dst / "_hf"
    model.save_pretrained(str(staging))
    tokenizer.save_pretrained(str(staging))
    ce = CrossEncoder(str(staging), device="cpu")
    ce.save(str(dst))
    shutil.rmtree(staging)
    (dst / "README.md").unlink(missing_ok=True)
    export_onnx(ce.model.eval(), ce.tokenizer, dst / "onnx", layout, log)


# ---------------------------------------------------------------- golden files


def _prompt_ids(ce, pairs: list[list[str]], instruction: str | None) -> list[list[int]]:
    """The ids sentence-transformers feeds for each pair (padding removed), one pair at a time."""
    out = []
    for pair in pairs:
        features = ce[0].preprocess([pair], prompt=instruction)
        ids = features["input_ids"][0]
        mask = features["attention_mask"][0].bool()
        out.append(ids[mask].tolist())
    return out


def _scores(ce, pairs, instruction: str | None) -> list[float]:
    import torch

    logits = ce.predict(
        pairs, batch_size=16, show_progress_bar=False, activation_fn=torch.nn.Identity(), prompt=instruction
    )
    return np.asarray(logits, dtype=np.float64).reshape(-1).tolist()


def decoder_golden(name: str, model_dir: Path, pairs: list[dict], log) -> dict:
    from sentence_transformers import CrossEncoder

    from families import HOSTILE_TEXTS
    from golden import versions

    texts = [[p["query"], p["passage"]] for p in pairs]
    long_passage = " ".join(HOSTILE_TEXTS * 6)
    hostile = (
        [["short query", t] for t in HOSTILE_TEXTS]
        + [[t, "a plain passage about towers and bread"] for t in HOSTILE_TEXTS]
        + [[q, long_passage] for q in ("short query", HOSTILE_TEXTS[0], HOSTILE_TEXTS[8])]
    )
    by_length = {}
    for max_length in GOLDEN_LENGTHS:
        ce = CrossEncoder(str(model_dir), max_length=max_length, device="cpu")
        entry = {}
        for label, instruction in (("default", None), ("custom", CUSTOM_INSTRUCTION)):
            entry[label] = {
                "logits": _scores(ce, texts, instruction),
                "ids": _prompt_ids(ce, texts, instruction),
                "hostile_logits": _scores(ce, hostile, instruction),
                "hostile_ids": _prompt_ids(ce, hostile, instruction),
            }
        by_length[str(max_length)] = entry
        flat = np.asarray(entry["default"]["logits"])
        cut = sum(len(ids) == max_length for ids in entry["default"]["ids"])
        log(f"    {name} at {max_length}: logits range [{flat.min():.3f}, {flat.max():.3f}], {cut} pairs cut")
    ce = CrossEncoder(str(model_dir), device="cpu")
    return {
        "model": name,
        "versions": versions(),
        "default_instruction": DEFAULT_INSTRUCTION,
        "custom_instruction": CUSTOM_INSTRUCTION,
        "default_activation_fn": type(ce.activation_fn).__name__,
        "pairs": texts,
        "hostile_pairs": hostile,
        "by_max_length": by_length,
    }


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
