"""Checks of the training options (run by test/training.int.test.ts through .venv, or directly:
`.venv/bin/python -m unittest discover -s tools -p 'test_*.py'` from the repo root). Each test shows that an option
changes what it claims; those that need ../shared/data skip with the reason when it is not beside the repository."""

from __future__ import annotations

import os
import random
import sys
import tempfile
import unittest
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
REPO = TOOLS.parent
sys.path.insert(0, str(TOOLS))

import offline_env  # noqa: E402,F401
import hard_negatives  # noqa: E402
import teachers  # noqa: E402
import train_cross_encoder as tce  # noqa: E402
from position_aug import PositionAugmenter  # noqa: E402
from training_sets import EvaluationSetError, check_not_evaluation, training_folder  # noqa: E402

DATA = Path(os.environ.get("LCE_DATA", REPO.parent / "shared" / "data"))
NO_DATA = f"needs the evaluation data at {DATA} (the project's shared folder beside the repository)"
SHIPPED = REPO / "models" / "ce-minilm-l6-ict"


def minilm_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tce.minilm_source()))


class EvaluationSetGuard(unittest.TestCase):
    def test_refuses_evaluation_sets_by_name_and_through_links(self):
        with tempfile.TemporaryDirectory() as tmp:
            for bad in ("trec-dl-2019-passage", "scifact", "my-SciFact-copy"):
                (Path(tmp) / bad).mkdir()
                with self.assertRaises(EvaluationSetError):
                    check_not_evaluation(Path(tmp) / bad)
            # A training name that links to an evaluation set is refused too.
            data = Path(tmp) / "data"
            data.mkdir()
            (data / "trec-dl-2021-passage").symlink_to(Path(tmp) / "scifact")
            with self.assertRaises(EvaluationSetError):
                training_folder(data, "trec-dl-2021-passage")
            with self.assertRaises(EvaluationSetError):
                tce.load_dl21(data, 0, 0)
            (data / "cranfield").mkdir()
            self.assertEqual(training_folder(data, "cranfield"), (data / "cranfield").resolve())

    def test_refuses_pairs_teachers_and_init_inside_an_evaluation_set(self):
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "scifact"
            folder.mkdir()
            (folder / "config.json").write_text("{}")
            (folder / "pairs.tsv").write_text("q\tp\t1\nq\tn\t0\n")
            with self.assertRaises(EvaluationSetError):
                tce.main(["--pairs", str(folder / "pairs.tsv"), "--out", str(Path(tmp) / "m")])
            with self.assertRaises(EvaluationSetError):
                tce.main(["--recipe", "mined", "--init", str(folder), "--out", str(Path(tmp) / "m")])
            with self.assertRaises(EvaluationSetError):
                teachers.parse_spec(f"bi-encoder+{folder}")


class TeacherFusion(unittest.TestCase):
    def test_fuse_is_the_weighted_mean_of_per_query_zscores(self):
        pools = {"q": ["a", "b", "c"]}
        one = {("q", "a"): 3.0, ("q", "b"): 1.0, ("q", "c"): 2.0}
        two = {("q", "a"): 0.0, ("q", "b"): 10.0, ("q", "c"): 5.0}
        fused = teachers.fuse(pools, [(one, 1.0), (two, 3.0)])
        z1, z2 = teachers.zscores([3, 1, 2]), teachers.zscores([0, 10, 5])
        for i, p in enumerate("abc"):
            self.assertAlmostEqual(fused[("q", p)], (z1[i] + 3 * z2[i]) / 4)
        self.assertEqual(teachers.fuse(pools, [(one, 2.0)]), dict(zip([("q", p) for p in "abc"], z1)))

    def test_spec(self):
        self.assertEqual(teachers.parse_spec("bi-encoder+bm25@0.5"), [("bi-encoder", 1.0), ("bm25", 0.5)])
        for bad in ("bi-encoder+", "bm25@x", "bm25@-1", "no/such/folder"):
            with self.assertRaises(SystemExit):
                teachers.parse_spec(bad)

    @unittest.skipUnless((DATA / "trec-dl-2021-passage").is_dir(), NO_DATA)
    def test_fused_target_differs_from_either_teacher_alone(self):
        train, _, _, _ = tce.load_dl21(DATA, 0, 0)
        rng = random.Random(0)
        pools = {}
        for q in train[:3]:
            pools[q.text] = rng.sample(sorted(q.passages), 10)
        kw = dict(device="cpu", bi_encoder_dir=tce.minilm_source(), cosine_temp=0.05, fusion_temp=0.5, cache_dir=None, log=lambda *_: None)
        raw: dict = {}
        fused = teachers.target_logits(pools, "bi-encoder+bm25", raw=raw, **kw)
        bi = teachers.target_logits(pools, "bi-encoder", **kw)
        self.assertEqual(set(raw), {"bi-encoder", "bm25"})
        for q, passages in pools.items():
            f = [fused[(q, p)] * 0.5 for p in passages]  # back to z-scores
            zb = teachers.zscores([bi[(q, p)] for p in passages])
            zm = teachers.zscores([raw["bm25"][(q, p)] for p in passages])
            # The fused target is between the two and equal to neither.
            self.assertGreater(max(abs(a - b) for a, b in zip(f, zb)), 0.05)
            self.assertGreater(max(abs(a - b) for a, b in zip(f, zm)), 0.05)
            for a, b, c in zip(f, zb, zm):
                self.assertAlmostEqual(a, (b + c) / 2, places=9)
        # The bi-encoder alone keeps the ict recipe's target: cosine / 0.05.
        q, p = next((q, p) for q, ps in pools.items() for p in ps)
        self.assertAlmostEqual(bi[(q, p)], raw["bi-encoder"][(q, p)] / 0.05, places=9)


class HardNegatives(unittest.TestCase):
    def test_select_honours_range_margin_count_and_sampling(self):
        scored = [(f"d{i}", 10.0 - i) for i in range(10)]  # d0 best
        s = hard_negatives.MiningSettings(range_min=1, range_max=8, margin=0.0, count=3)
        self.assertEqual(hard_negatives.select(scored, [20.0], s, random.Random(0)), ["d1", "d2", "d3"])
        # A positive scoring 8.5 with margin 1: candidates above 7.5 (d0-d2) are likely false negatives.
        s = hard_negatives.MiningSettings(range_min=0, range_max=10, margin=1.0, count=3)
        self.assertEqual(hard_negatives.select(scored, [8.5], s, random.Random(0)), ["d3", "d4", "d5"])
        s = hard_negatives.MiningSettings(range_min=0, range_max=6, count=3, sampling="random")
        picked = hard_negatives.select(scored, [99.0], s, random.Random(1))
        self.assertEqual(len(picked), 3)
        self.assertTrue(set(picked) <= {f"d{i}" for i in range(6)})
        with self.assertRaises(SystemExit):
            hard_negatives.MiningSettings(range_min=5, range_max=5)

    @unittest.skipUnless((DATA / "cranfield").is_dir(), NO_DATA)
    def test_mined_negatives_rank_above_random_ones_under_the_miner(self):
        queries = tce.load_cranfield(DATA, 30)[:6]
        items = [(q.text, [p for p, v in q.passages.items() if v > 0], [p for p, v in q.passages.items() if v <= 0]) for q in queries]
        miner = teachers.bi_encoder_scorer(tce.minilm_source())
        settings = hard_negatives.MiningSettings(range_min=0, range_max=30, margin=0.02, count=5)
        mined, stats = hard_negatives.mine(items, miner, settings, random.Random(0))
        self.assertEqual(stats["queries"], 6)
        rng = random.Random(0)
        mined_mean, random_mean = [], []
        for (text, positives, candidates), negatives in zip(items, mined):
            self.assertTrue(negatives)
            self.assertFalse(set(negatives) & set(positives))
            picks = rng.sample(candidates, len(negatives))
            scores = miner([(text, p) for p in positives + negatives + picks])
            pos, neg, rnd = scores[: len(positives)], scores[len(positives) : len(positives) + len(negatives)], scores[-len(picks) :]
            self.assertLessEqual(max(neg), max(pos) - 0.02 + 1e-6)  # the margin holds
            mined_mean.append(sum(neg) / len(neg))
            random_mean.append(sum(rnd) / len(rnd))
            # Every mined one outranks every allowed candidate left out.
            allowed = [c for c in candidates if c not in negatives]
            rest = [s for s in miner([(text, c) for c in allowed]) if s <= max(pos) - 0.02]
            if rest:
                self.assertGreaterEqual(min(neg), max(rest) - 1e-6)
        self.assertGreater(sum(mined_mean) / 6, sum(random_mean) / 6 + 0.02)


class PositionAugmentation(unittest.TestCase):
    def test_answer_stays_whole_inside_the_window_at_varied_offsets(self):
        tok = minilm_tokenizer()
        rng = random.Random(0)
        fillers = [
            " ".join(rng.choice(["wind", "waves", "shore", "lunar", "gravity", "ocean,", "tidal.", "coastline"]) for _ in range(rng.randint(5, 90)))
            for _ in range(50)
        ]
        aug = PositionAugmenter(tok, fillers, 128, 1.0, random.Random(1))
        query = "what causes the tides"
        starts = set()
        for n in (3, 10, 25, 60):
            passage = "Tides are caused by the Moon's pull, " + "and the Sun's " * (n // 3) + "gravity."
            p_ids = tok(passage, add_special_tokens=False)["input_ids"]
            for _ in range(60):
                out = aug.augment(query, passage)
                self.assertIn(passage, out)
                full = tok(query, out)["input_ids"]
                self.assertLessEqual(len(full), 128)  # nothing is cut: the whole window is the pair
                ids = tok(query, out, truncation="longest_first", max_length=128)["input_ids"]
                second = ids[ids.index(tok.sep_token_id) + 1 : -1]
                at = next((i for i in range(len(second) - len(p_ids) + 1) if second[i : i + len(p_ids)] == p_ids), None)
                self.assertIsNotNone(at, "the passage's tokens must appear whole in the window")
                starts.add(at)
        self.assertIn(0, starts)
        self.assertGreater(max(starts), 60)
        self.assertGreater(len(starts), 30)

    def test_rate_and_full_windows_leave_the_passage_alone(self):
        tok = minilm_tokenizer()
        self.assertEqual(PositionAugmenter(tok, ["filler text"], 128, 0.0, random.Random(0)).augment("q", "p"), "p")
        long = "word " * 200
        self.assertEqual(PositionAugmenter(tok, ["filler text"], 128, 1.0, random.Random(0)).augment("q", long), long)
        with self.assertRaises(SystemExit):
            PositionAugmenter(tok, [], 128, 1.5, random.Random(0))


class StartFromACrossEncoder(unittest.TestCase):
    @unittest.skipUnless(SHIPPED.is_dir(), f"needs {SHIPPED} (npm run models, with the shared models folder)")
    def test_init_keeps_the_folders_own_head(self):
        from argparse import Namespace

        from safetensors.torch import load_file

        model, _, source = tce.load_start(Namespace(init=str(SHIPPED), seed=0), "eager")
        self.assertEqual(source, SHIPPED.resolve())
        saved = load_file(str(SHIPPED / "model.safetensors"))
        key = next(k for k in saved if k.endswith("classifier.weight"))
        self.assertTrue(bool((model.classifier.weight.detach() == saved[key]).all()))
        fresh, _, _ = tce.load_start(Namespace(init="", seed=0), "eager")
        self.assertFalse(bool((fresh.classifier.weight.detach() == saved[key]).all()))

    def test_init_refuses_what_is_not_a_one_logit_cross_encoder(self):
        from argparse import Namespace

        with tempfile.TemporaryDirectory() as tmp:
            with self.assertRaises(SystemExit):
                tce.start_source(Namespace(init=tmp))
            (Path(tmp) / "config.json").write_text('{"id2label": {"0": "a", "1": "b"}}')
            with self.assertRaises(SystemExit):
                tce.start_source(Namespace(init=tmp))


if __name__ == "__main__":
    unittest.main()
