"""Tiny random-weight rerankers of every popular family, with tokenizers trained here.

Each family is built the way its hub rerankers are: the `*ForSequenceClassification` class of the family, a
tokenizer from the family's own pipeline (SentencePiece models go through transformers' converters, so the
`Precompiled` character map, Metaspace and the pair template are the real ones; byte-level BPE vocabularies get
the converter's RoBERTa layout or ModernBERT's template), saved by sentence-transformers' CrossEncoder, and an
ONNX graph at `onnx/model.onnx` taking the inputs that family's hub exports take.

Used by build_models.py; the golden files for these models come from `family_golden`.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import unicodedata
from pathlib import Path
from types import SimpleNamespace

import numpy as np

TOOLS = Path(__file__).resolve().parent
SEED = 0
VOCAB = 1200  # trained vocabularies: big enough for whole words, small enough to build in seconds
HIDDEN, LAYERS, HEADS, INTERMEDIATE = 32, 2, 2, 64
GOLDEN_LENGTHS = (32, 512)
# The code-point sweep: every code point but surrogates, in blocks; each block is one text (alone) and one text
# (inside words) whose ids are folded into a 32-bit FNV-1a digest, so the expected values stay small.
SWEEP_BLOCK = 256
# Written into each family model's folder by build_family: the reference that needs no evaluation data.
REFERENCE_FILE = "tokenizer-reference.json"

# name -> (model_type, labels, graph inputs)
FAMILIES = {
    "fam-electra": ("electra", 1, ("input_ids", "attention_mask", "token_type_ids")),
    "fam-xlm-roberta": ("xlm-roberta", 1, ("input_ids", "attention_mask")),
    "fam-deberta-v2": ("deberta-v2", 1, ("input_ids", "attention_mask")),
    "fam-roberta": ("roberta", 1, ("input_ids", "attention_mask")),
    "fam-modernbert": ("modernbert", 1, ("input_ids", "attention_mask")),
    "fam-xlm-roberta-2label": ("xlm-roberta", 2, ("input_ids", "attention_mask")),
}

# Text the tokenizers learn from when ../shared is absent: several scripts, so the SentencePiece character maps
# and vocabularies hold more than ASCII.
FALLBACK_TEXT = """\
The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris, France.
Photosynthesis converts light energy into chemical energy stored in glucose and other sugars.
The 2019 TREC Deep Learning track used MS MARCO passages and queries written by real users.
Sourdough bread relies on a fermented starter of flour and water instead of commercial yeast.
Café au lait à Zürich: naïve résumé, façade, coöperate, Ångström, smörgåsbord, piñata.
東京は日本の首都です。北京是中国的首都。서울은 대한민국의 수도입니다。
ما هي عاصمة فرنسا؟ باريس هي عاصمة فرنسا وأكبر مدنها.
हिन्दी भारत की राजभाषा है। தமிழ் ஒரு பழமையான மொழி. বাংলা ভাষা।
Привет, как дела? Москва — столица России. Ελληνικά: η Αθήνα είναι πρωτεύουσα.
I love pizza 🍕 and my family 👨‍👩‍👧 and the flag 🇯🇵 with a thumbs up 👍🏽.
"""

# Texts that stress tokenizers where implementations part ways.
HOSTILE_TEXTS = [
    "👨‍👩‍👧‍👦 family, 👩🏽‍💻 coder, 🏳️‍🌈 flag, ❤️‍🔥 heart on fire",
    "\ufeffBOM at the start, NEL\u0085inside, zero\u200bwidth\u200cnon\u200djoiner\u2060word joiner",
    "Arabic letter mark\u061c here: مرحبا\u061cبالعالم، كيف حالك؟",
    "क्षत्रिय क्‍ष ज़िन्दगी (ZWJ and ZWNJ in Devanagari: क्\u200dष क्\u200cष)",
    "ශ්‍රී ලංකා and മലയാളം ന്‍ ണ്‍",
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ababababababababababab",
    "lllllllllllllllllllll oooooooooooooooooooooooooo !!!!!!!!!!!!!!!!!!!! ............",
    "ススススススススススススス ああああああああああああ 的的的的的的的的的",
    "CJK Ext B 𠀀𠀁𠀂 𪜀 Ext G 𰀀 compat 丽丸 and 々〆〇",
    "Math 𝐀𝐁𝐂 𝒜 𝔸 ℝ ½ ² ㎞ ﬁ ﬀ Ⅻ ①",
    "tabs\tand\nnewlines\r\nand\u000bvertical\u000cfeed\u2028line\u2029para",
    "  leading and trailing spaces   and    runs    of     spaces  ",
    "e\u0301 vs é, n\u0303 vs ñ, Å vs A\u030a, ﬃ ligature, Ǆ digraph",
    "\u00ad soft hyphen, \u200e LRM, \u202e RLO override \u202c",
    "unassigned \U000e0080 \U0010fffd private \ue000 nonchar \ufffe \uffff",
    "[CLS] <s> </s> <pad> [SEP] <mask> [MASK] literal special tokens",
]


def _seed() -> None:
    import random

    import torch

    random.seed(SEED)
    np.random.seed(SEED)
    torch.manual_seed(SEED)


def training_text(data_dir: Path) -> list[str]:
    """Lines the tokenizers learn from: local corpora when present, else the text above."""
    lines: list[str] = []
    for name in ("trec-dl-2019-passage", "scifact"):
        corpus = data_dir / name / "corpus.jsonl"
        if corpus.is_file():
            with corpus.open(encoding="utf-8") as f:
                for i, line in enumerate(f):
                    if i >= 400:
                        break
                    row = json.loads(line)
                    lines.append(f"{row.get('title', '')} {row['text']}".strip())
    lines += FALLBACK_TEXT.splitlines() * 5
    return lines


# ---------------------------------------------------------------- tokenizers


def _spm(lines: list[str], work: Path, **kwargs) -> Path:
    import sentencepiece as spm

    text = work / "train.txt"
    text.write_text("\n".join(lines), encoding="utf-8")
    prefix = work / "spm"
    spm.SentencePieceTrainer.train(
        input=str(text),
        model_prefix=str(prefix),
        vocab_size=VOCAB,
        model_type="unigram",
        character_coverage=1.0,
        normalization_rule_name="nmt_nfkc",
        minloglevel=2,
        num_threads=1,
        seed_sentencepiece_size=50_000,
        input_sentence_size=5_000,
        # Without ../shared the text above is all there is, too little for VOCAB pieces: take what it holds.
        hard_vocab_limit=False,
        **kwargs,
    )
    return prefix.with_suffix(".model")


def _shim(model_file: Path, ids: dict[str, int], **fields):
    """What transformers' converters read from a slow tokenizer: the .model file, token ids and a few flags."""
    return SimpleNamespace(
        vocab_file=str(model_file),
        convert_tokens_to_ids=lambda token: ids[token],
        add_prefix_space=True,
        legacy=True,
        **fields,
    )


def _xlm_roberta_tokenizer(lines: list[str], work: Path):
    from transformers import XLMRobertaTokenizer
    from transformers.convert_slow_tokenizer import XLMRobertaConverter

    model_file = _spm(lines, work)  # default pieces: <unk>=0, <s>=1, </s>=2, as XLM-R's own model has
    # The converter shifts SentencePiece ids by one (fairseq's layout) and appends <mask>.
    ids = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "<mask>": VOCAB + 1}
    backend = XLMRobertaConverter(_shim(model_file, ids)).converted()
    return XLMRobertaTokenizer(tokenizer_object=backend, model_max_length=512)


def _deberta_tokenizer(lines: list[str], work: Path):
    from transformers import DebertaV2Tokenizer
    from transformers.convert_slow_tokenizer import DebertaV2Converter

    # DeBERTa-v3's own model: [PAD]=0, [CLS]=1, [SEP]=2, [UNK]=3, [MASK] a control piece.
    model_file = _spm(
        lines,
        work,
        pad_id=0,
        pad_piece="[PAD]",
        bos_id=1,
        bos_piece="[CLS]",
        eos_id=2,
        eos_piece="[SEP]",
        unk_id=3,
        unk_piece="[UNK]",
        control_symbols=["[MASK]"],
    )
    ids = {"[PAD]": 0, "[CLS]": 1, "[SEP]": 2, "[UNK]": 3, "[MASK]": 4}
    backend = DebertaV2Converter(_shim(model_file, ids, split_by_punct=False, do_lower_case=False)).converted()
    return DebertaV2Tokenizer(tokenizer_object=backend, model_max_length=512)


def _byte_level_bpe(lines: list[str], specials: list[str]):
    from tokenizers import ByteLevelBPETokenizer

    trainer = ByteLevelBPETokenizer(add_prefix_space=False)
    trainer.train_from_iterator(lines, vocab_size=VOCAB, min_frequency=2, special_tokens=specials, show_progress=False)
    state = json.loads(trainer._tokenizer.to_str())["model"]
    return state["vocab"], [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in state["merges"]]


def _roberta_tokenizer(lines: list[str], work: Path):
    from transformers import RobertaTokenizer
    from transformers.convert_slow_tokenizer import RobertaConverter

    vocab, merges = _byte_level_bpe(lines, ["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    shim = SimpleNamespace(
        encoder=vocab,
        bpe_ranks={m: i for i, m in enumerate(merges)},
        add_prefix_space=False,
        sep_token="</s>",
        sep_token_id=vocab["</s>"],
        cls_token="<s>",
        cls_token_id=vocab["<s>"],
    )
    backend = RobertaConverter(shim).converted()
    return RobertaTokenizer(tokenizer_object=backend, model_max_length=512)


def _modernbert_tokenizer(lines: list[str], work: Path):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]
    vocab, merges = _byte_level_bpe(lines, specials)
    backend = Tokenizer(models.BPE(vocab=vocab, merges=merges, fuse_unk=False))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    backend.decoder = decoders.ByteLevel()
    # ModernBERT's hub tokenizer: [CLS] A [SEP] B [SEP], one segment id.
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS]:0 $A:0 [SEP]:0",
        pair="[CLS]:0 $A:0 [SEP]:0 $B:0 [SEP]:0",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    backend.add_special_tokens(specials)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        pad_token="[PAD]",
        mask_token="[MASK]",
        model_max_length=8192,
        model_input_names=["input_ids", "attention_mask"],
    )


def _bert_tokenizer(work: Path):
    # ELECTRA rerankers use BERT's uncased WordPiece vocabulary: the real one, from all-MiniLM-L6-v2's files.
    from transformers import AutoTokenizer

    from build_models import minilm_source

    return AutoTokenizer.from_pretrained(str(minilm_source()))


def make_tokenizer(model_type: str, lines: list[str]):
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if model_type == "electra":
            return _bert_tokenizer(work)
        if model_type == "xlm-roberta":
            return _xlm_roberta_tokenizer(lines, work)
        if model_type == "deberta-v2":
            return _deberta_tokenizer(lines, work)
        if model_type == "roberta":
            return _roberta_tokenizer(lines, work)
        if model_type == "modernbert":
            return _modernbert_tokenizer(lines, work)
    raise ValueError(model_type)


# ---------------------------------------------------------------- models


def make_model(model_type: str, labels: int, tokenizer):
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification

    _seed()
    common = dict(
        vocab_size=len(tokenizer),
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=INTERMEDIATE,
        num_labels=labels,
        pad_token_id=tokenizer.pad_token_id,
        initializer_range=0.2,
    )
    if model_type in ("xlm-roberta", "roberta"):
        # Positions start after the padding index: 514 rows, 512 usable, as on the hub.
        extra = dict(max_position_embeddings=514, type_vocab_size=1, bos_token_id=0, eos_token_id=2)
    elif model_type == "deberta-v2":
        extra = dict(
            max_position_embeddings=512,
            type_vocab_size=0,
            relative_attention=True,
            position_buckets=256,
            norm_rel_ebd="layer_norm",
            share_att_key=True,
            pos_att_type=["p2c", "c2p"],
            position_biased_input=False,
            max_relative_positions=-1,
            pooler_hidden_size=HIDDEN,
        )
    elif model_type == "modernbert":
        extra = dict(
            max_position_embeddings=8192,
            global_attn_every_n_layers=2,
            local_attention=16,
            cls_token_id=tokenizer.cls_token_id,
            sep_token_id=tokenizer.sep_token_id,
            bos_token_id=tokenizer.cls_token_id,
            eos_token_id=tokenizer.sep_token_id,
            classifier_pooling="mean",
        )
    else:  # electra
        extra = dict(max_position_embeddings=512, type_vocab_size=2, embedding_size=HIDDEN)
    config = AutoConfig.for_model(model_type, **common, **extra)
    config._attn_implementation = "eager"
    model = AutoModelForSequenceClassification.from_config(config, attn_implementation="eager")
    # Spread the head so random logits cover a few units rather than sitting near one value.
    g = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "classifier" in name or "head" in name or "pooler" in name:
                p.copy_(torch.randn(p.shape, generator=g) * (0.5 if p.dim() > 1 else 0.2))
    return model.eval()


class _Graph:
    """Logits from exactly the inputs the family's exports take."""

    def __new__(cls, model, inputs):
        import torch

        class Graph(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.model = model

            def forward(self, *args):
                return self.model(**dict(zip(inputs, args))).logits

        return Graph().eval()


def export_onnx(model, tokenizer, onnx_dir: Path, inputs: tuple[str, ...], log) -> float:
    import onnx
    import onnxruntime as ort
    import torch

    onnx_dir.mkdir(parents=True, exist_ok=True)
    graph = _Graph(model, inputs)
    enc = tokenizer(
        ["a short query", "another query, longer than the first"],
        ["a passage about towers", "a passage about bread and sourdough starters, with more words in it"],
        padding=True,
        return_tensors="pt",
    )
    args = tuple(enc[name] for name in inputs)
    axes = {name: {0: "batch_size", 1: "sequence_length"} for name in inputs}
    axes["logits"] = {0: "batch_size"}
    path = onnx_dir / "model.onnx"
    with torch.no_grad():
        torch.onnx.export(
            graph,
            args,
            str(path),
            input_names=list(inputs),
            output_names=["logits"],
            dynamic_axes=axes,
            opset_version=14,
            do_constant_folding=True,
            dynamo=False,
        )
    onnx.checker.check_model(str(path))
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    got = [i.name for i in sess.get_inputs()]
    if got != list(inputs):
        raise RuntimeError(f"{path}: inputs {got}, expected {list(inputs)}")
    worst = 0.0
    texts = [("q", "p " * 3), ("what is the capital of france", "Paris is the capital and largest city " * 9)]
    for batch in (texts[:1], texts):
        enc = tokenizer([q for q, _ in batch], [p for _, p in batch], padding=True, return_tensors="pt")
        with torch.no_grad():
            ref = graph(*(enc[n] for n in inputs)).numpy()
        out = sess.run(None, {n: enc[n].numpy().astype(np.int64) for n in inputs})[0]
        worst = max(worst, float(np.abs(out - ref).max()))
    if worst > 1e-5:
        raise RuntimeError(f"{path}: ONNX differs from PyTorch by {worst:.2e}")
    log(f"    onnx inputs {list(inputs)}, max |onnx - torch| = {worst:.2e}")
    return worst


def build_family(name: str, dst: Path, data_dir: Path, log) -> None:
    from sentence_transformers import CrossEncoder

    model_type, labels, inputs = FAMILIES[name]
    tokenizer = make_tokenizer(model_type, training_text(data_dir))
    model = make_model(model_type, labels, tokenizer)
    staging = dst / "_hf"
    model.save_pretrained(str(staging))
    tokenizer.save_pretrained(str(staging))
    ce = CrossEncoder(str(staging), device="cpu")
    ce.save(str(dst))
    shutil.rmtree(staging)
    (dst / "README.md").unlink(missing_ok=True)
    export_onnx(ce.model.eval(), ce.tokenizer, dst / "onnx", inputs, log)
    # What the Rust tokenizer makes of texts the project writes itself: built with the model, so the tests that
    # need no evaluation data run wherever the models were built.
    import golden

    golden.write_json(dst / REFERENCE_FILE, family_reference(name, dst))


# ---------------------------------------------------------------- golden files


def fnv1a(ids: list[int], h: int = 0x811C9DC5) -> int:
    for i in ids:
        h = ((h ^ (i & 0xFFFFFFFF)) * 0x01000193) & 0xFFFFFFFF
    return h


def sweep_texts(block: int) -> tuple[str, str]:
    """Block `block` of the code-point sweep: each code point alone, and inside a word."""
    points = [cp for cp in range(block * SWEEP_BLOCK, (block + 1) * SWEEP_BLOCK) if not 0xD800 <= cp <= 0xDFFF]
    alone = " ".join(chr(cp) for cp in points)
    inside = " ".join(f"a{chr(cp)}b" for cp in points)
    return alone, inside


def sweep_digests(tok) -> list[str]:
    blocks = 0x110000 // SWEEP_BLOCK
    texts = [t for b in range(blocks) for t in sweep_texts(b)]
    encs = tok.encode_batch(texts, add_special_tokens=False)
    return [f"{fnv1a(e.ids):08x}" for e in encs]


def _encode_or_none(tok, query: str, passage: str):
    try:
        return tok.encode(query, passage).ids
    except Exception:  # only_second with a query that alone does not fit: the Rust tokenizer refuses
        return None


def family_reference(name: str, model_dir: Path) -> dict:
    """Rust tokenizer ids for the hostile texts (alone, and truncated as passages) and the code-point sweep."""
    from tokenizers import Tokenizer

    from golden import versions

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()
    # Hostile texts alone, and as passages truncated at every length from 8 to 512, both strategies.
    hostile = [e.ids for e in tok.encode_batch(HOSTILE_TEXTS, add_special_tokens=False)]
    long_passage = " ".join(HOSTILE_TEXTS * 6)
    truncated = {"longest_first": {}, "only_second": {}}
    for strategy in truncated:
        for max_length in (8, 9, 16, 31, 64, 128, 256, 512):
            tok.enable_truncation(max_length, strategy=strategy)
            truncated[strategy][str(max_length)] = [
                _encode_or_none(tok, q, long_passage) for q in ("short query", HOSTILE_TEXTS[0], HOSTILE_TEXTS[8])
            ]
    tok.no_truncation()
    # The two-label model shares its sibling's tokenizer (same text, same seed): the sweep is not run twice.
    sweep = [] if name.endswith("-2label") else sweep_digests(tok)
    return {
        "model": name,
        "versions": versions(),
        "hostile": {"texts": HOSTILE_TEXTS, "ids": hostile, "long_passage": long_passage, "truncated": truncated},
        "sweep": {"block": SWEEP_BLOCK, "digests": sweep},
    }


def family_golden(name: str, model_dir: Path, pairs: list[dict], log) -> dict:
    import torch
    from sentence_transformers import CrossEncoder
    from tokenizers import Tokenizer
    from transformers import AutoTokenizer

    from golden import versions

    _, labels, inputs = FAMILIES[name]
    texts = [[p["query"], p["passage"]] for p in pairs]
    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    tok.no_padding()
    hf = AutoTokenizer.from_pretrained(str(model_dir))

    tokenization = {}
    departs = {}
    for max_length in GOLDEN_LENGTHS:
        tok.enable_truncation(max_length, strategy="longest_first")
        ids = [e.ids for e in tok.encode_batch([tuple(t) for t in texts])]
        ref = hf([q for q, _ in texts], [p for _, p in texts], truncation=True, max_length=max_length)["input_ids"]
        departs[str(max_length)] = [i for i in range(len(texts)) if list(ref[i]) != ids[i]]
        tokenization[str(max_length)] = ids
    tok.enable_truncation(32, strategy="only_second")
    only_second = []
    for q, p in texts:
        try:
            only_second.append(tok.encode(q, p).ids)
        except Exception:  # the query alone does not fit
            only_second.append(None)
    tok.no_truncation()

    ce = CrossEncoder(str(model_dir), max_length=512, device="cpu")
    logits = np.asarray(
        ce.predict(texts, batch_size=16, show_progress_bar=False, activation_fn=torch.nn.Identity()), dtype=np.float32
    )
    ce32 = CrossEncoder(str(model_dir), max_length=32, device="cpu")
    logits_32 = np.asarray(
        ce32.predict(texts, batch_size=16, show_progress_bar=False, activation_fn=torch.nn.Identity()),
        dtype=np.float32,
    )
    flat = logits.reshape(len(texts), -1)
    log(
        f"    {name}: logits range [{flat.min():.3f}, {flat.max():.3f}], transformers departs from tokenizer.json "
        f"on {len(departs['512'])} pairs at 512, {len(departs['32'])} at 32"
    )
    as_list = (lambda a: a.reshape(-1).tolist()) if labels == 1 else (lambda a: a.tolist())
    return {
        "model": name,
        "num_labels": labels,
        "onnx_inputs": list(inputs),
        "versions": versions(),
        "pairs": texts,
        "tokenization": {"by_max_length": tokenization, "only_second_32": only_second},
        # Pairs whose ids from transformers' tokenizer (what sentence-transformers runs) differ from tokenizer.json's.
        "transformers_departs": departs,
        "logits": as_list(logits),
        "default_activation_fn": type(ce.activation_fn).__name__,
        "logits_32": as_list(logits_32),
    }
