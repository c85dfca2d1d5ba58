"""`suara`: classify JSON lines, evaluate and train the category model, without broker or DB.

suara classify < in.jsonl > out.jsonl     # {"text": ...} -> {"category", "confidence", ...}
suara eval [FILE.jsonl]                   # default: the corpus held-out split
suara train [--output PATH] [--extra FILE.jsonl] [--mongo-uri URI]
suara pairs FILE.jsonl... [--same-category] [--fit]  # "me too": {"a", "b", "same"} -> P/R/F1
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from services.categorization import corpus, duplicates, serialisation, triage
from services.categorization.classifier import Model
from services.categorization.evaluation import Report, evaluate_records, format_report
from services.categorization.serialisation import DEFAULT_MODEL_PATH
from services.categorization.taxonomy import is_category
from shared import config

BATCH_SIZE = 2000


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def train_model(
    extra_examples: Iterable[tuple[str, str]] = (),
    *,
    seed: int = 0,
    corpus_dir: Path | str | None = None,
) -> tuple[Model, Report]:
    """Train on the corpus train split plus `extra_examples` (e.g. staff corrections) and
    evaluate on the held-out split. The report is also stored in `model.metrics`.

    Extra examples identical (after normalisation) to a held-out line are left out, so the
    held-out figures stay honest, and so are those with no text or an unknown category.
    """
    heldout = corpus.heldout_records(corpus_dir)
    heldout_keys = {corpus.dedupe_key(record.text) for record in heldout}
    extras, skipped = [], 0
    for text, category in extra_examples:
        usable = isinstance(text, str) and text.strip() and is_category(category)
        if usable and corpus.dedupe_key(text) not in heldout_keys:
            extras.append((text, category))
        else:
            skipped += 1
    if skipped:
        _log(f"suara train: left out {skipped} extra examples (held-out copies or invalid)")
    started = time.perf_counter()
    model = _train(corpus.train_records(corpus_dir), extras, seed=seed)
    training_seconds = time.perf_counter() - started
    report = evaluate_records(model, heldout)
    model.metrics = {
        **report.as_dict(),
        "split": "heldout",
        "extra_examples": len(extras),
        "training_seconds": round(training_seconds, 2),
    }
    return model, report


def load_model(path: Path | str | None = None) -> Model:
    """The model file at `path` (default: $SUARA_MODEL_PATH or DEFAULT_MODEL_PATH); when it is
    missing, a model trained in memory on the corpus train split."""
    path = Path(path or config.optional("SUARA_MODEL_PATH") or DEFAULT_MODEL_PATH)
    if path.exists():
        return serialisation.load(path)
    _log(f"suara: no model file at {path}; training one in memory (run `suara train` to keep it)")
    return _train(corpus.train_records())


def _train(records, extras: Iterable[tuple[str, str]] = (), *, seed: int = 0) -> Model:
    """A model of corpus records (their categories and urgent labels) plus extra examples."""
    from services.categorization.training import train  # scikit-learn: only to train

    return train(
        [*(r.example for r in records), *extras],
        urgent=[(r.text, r.urgent) for r in records],
        seed=seed,
    )


# classify


def _parse(line: bytes | str) -> tuple[str | None, Any, str | None]:
    """(text, id, error) of one input line."""
    try:
        data = json.loads(line)
    except ValueError as exc:  # also invalid UTF-8
        return None, None, f"invalid JSON: {exc}"
    if not isinstance(data, dict):
        return None, None, "expected a JSON object with a text field"
    text = data.get("text")
    if text is None:
        return None, data.get("id"), "missing text"
    try:
        return triage.validate_text(text), data.get("id"), None
    except triage.InvalidText as exc:
        return None, data.get("id"), str(exc)


def _batches(stream: IO[Any], size: int) -> Iterator[list[bytes | str]]:
    batch: list[bytes | str] = []
    for line in stream:
        batch.append(line)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def classify_lines(lines: Sequence[bytes | str], model: Model) -> list[str]:
    """One output JSON line (without newline) per input line, in order."""
    parsed = [_parse(line) for line in lines]
    valid = [i for i, (text, _, _) in enumerate(parsed) if text is not None]
    decisions = triage.decide_many([parsed[i][0] for i in valid], model)  # type: ignore[misc]
    by_index = dict(zip(valid, decisions, strict=True))
    out: list[str] = []
    for i, (_, item_id, error) in enumerate(parsed):
        decision = by_index.get(i)
        if decision is None:
            answer: dict[str, Any] = {"error": error}
        else:
            answer = {
                "category": decision.category,
                "confidence": decision.confidence,
                "priority": decision.priority,
                "language": decision.language,
            }
        if item_id is not None:
            answer = {"id": item_id, **answer}
        out.append(json.dumps(answer, ensure_ascii=False))
    return out


def _cmd_classify(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    # Bytes when there is a real stdin (faster, and invalid UTF-8 becomes an error line).
    stdin = getattr(sys.stdin, "buffer", sys.stdin)
    stdout = sys.stdout
    for batch in _batches(stdin, args.batch_size):
        stdout.write("\n".join(classify_lines(batch, model)) + "\n")
    stdout.flush()
    return 0


# eval


def _read_eval_records(path: Path) -> list:
    records, problems = corpus.read_file(path)
    for problem in problems[:10]:
        _log(f"suara eval: skipped {problem}")
    if len(problems) > 10:
        _log(f"suara eval: skipped {len(problems) - 10} more invalid lines")
    return records


def _cmd_eval(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    records = _read_eval_records(Path(args.file)) if args.file else corpus.heldout_records()
    if not records:
        _log("suara eval: no valid examples")
        return 2
    print(format_report(evaluate_records(model, records)), flush=True)
    return 0


# train


def _normalise_corrections(items: Iterable[Any]) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for item in items:
        if isinstance(item, dict):
            pairs.append((item["text"], item["category"]))
        else:
            text, category = item
            pairs.append((text, category))
    return pairs


def _cmd_train(args: argparse.Namespace) -> int:
    extra: list[tuple[str, str]] = []
    for path in args.extra or []:
        extra.extend(corpus.read_examples(path))
    # the database the categorization service reads: SUARA_CATEGORIZATION_MONGO_URI first
    mongo_uri = args.mongo_uri or config.service_mongo("categorization")[0]
    modelstore = None
    if mongo_uri:
        # The DB-backed form: stored staff corrections join the training data, and the model
        # goes to MongoDB. Imported lazily so the offline form needs no database driver.
        from services.categorization import modelstore  # type: ignore[attr-defined]

        corrections = _normalise_corrections(modelstore.load_corrections(mongo_uri))
        _log(f"suara train: {len(corrections)} stored corrections")
        extra.extend(corrections)

    model, report = train_model(extra, seed=args.seed)
    print(format_report(report), flush=True)
    path = serialisation.save(model, args.output)
    size = path.stat().st_size
    print(
        f"\nmodel {model.version}: {model.training_size} training examples, "
        f"{model.metrics['training_seconds']} s, {size / 1e6:.2f} MB -> {path}",
        flush=True,
    )
    if modelstore is not None:
        modelstore.store_trained_model(mongo_uri, model)
        print(f"model {model.version} stored in MongoDB", flush=True)
    return 0


# pairs

SWEEP = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)


def read_pairs(path: Path) -> list[dict]:
    """The valid lines of a pairs file ({"a": text, "b": text, "same": bool, ...})."""
    pairs, problems = [], []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            problems.append(f"line {number}: invalid JSON: {exc}")
            continue
        texts_ok = isinstance(row, dict) and all(
            isinstance(row.get(k), str) and row[k].strip() for k in ("a", "b")
        )
        if not texts_ok or not isinstance(row.get("same"), bool):
            problems.append(f"line {number}: expected a and b (texts) and same (true/false)")
            continue
        pairs.append(row)
    for problem in problems[:10]:
        _log(f"suara pairs: skipped {problem}")
    if len(problems) > 10:
        _log(f"suara pairs: skipped {len(problems) - 10} more invalid lines")
    return pairs


def _format_scores(threshold: float, scores: duplicates.PairScores) -> str:
    return (
        f"{threshold:>9.2f}  {scores.precision:>9.3f}  {scores.recall:>6.3f}  {scores.f1:>6.3f}"
        f"  {scores.tp:>4} {scores.fp:>4} {scores.fn:>4} {scores.tn:>4}"
    )


def _pair_scores(pairs: list[dict], args: argparse.Namespace) -> list[tuple[float, bool]]:
    """Each pair's score with the shipped scorer (P(same problem)), and its label."""
    scored = [
        (
            duplicates.probability(duplicates.signature(p["a"]), duplicates.signature(p["b"])),
            p["same"],
        )
        for p in pairs
    ]
    if args.same_category:  # the predicted categories must agree too
        model = load_model(args.model)
        decided = triage.decide_many([t for p in pairs for t in (p["a"], p["b"])], model)
        agree = [decided[2 * i].category == decided[2 * i + 1].category for i in range(len(pairs))]
        scored = [
            (score if ok else 0.0, same) for (score, same), ok in zip(scored, agree, strict=True)
        ]
    return scored


def _print_sweep(scored: list[tuple[float, bool]], chosen: float) -> None:
    print("threshold  precision  recall      F1    tp   fp   fn   tn")
    for threshold in sorted({*SWEEP, chosen}):
        line = _format_scores(threshold, duplicates.pair_scores(scored, threshold))
        print(line + ("  <- configured" if threshold == chosen else ""))


def _print_failures(pairs: list[dict], scored: list[tuple[float, bool]], threshold: float) -> None:
    """Missed links and false links, by the pairs' ``note`` (when they have one)."""
    by_note: dict[str, list[int]] = {}
    for pair, (score, same) in zip(pairs, scored, strict=True):
        counts = by_note.setdefault(str(pair.get("note") or "-"), [0, 0, 0])
        counts[0] += 1
        counts[1] += same and score < threshold
        counts[2] += (not same) and score >= threshold
    if len(by_note) == 1 and "-" in by_note:
        return
    print("\nnote                                   pairs  missed  false links")
    worst_first = sorted(by_note.items(), key=lambda item: (-sum(item[1][1:]), item[0]))
    for note, (n, missed, false) in worst_first:
        print(f"{note[:38]:<38} {n:>6} {missed:>7} {false:>12}")


def _cmd_pairs(args: argparse.Namespace) -> int:
    settings = duplicates.Settings.of(config.duplicate_settings())
    pairs = [p for path in args.file for p in read_pairs(Path(path))]
    if not pairs:
        _log("suara pairs: no valid pairs")
        return 2
    if args.fit:
        return _fit_pairs(pairs, args)
    scored = _pair_scores(pairs, args)
    chosen = duplicates.pair_scores(scored, settings.min_similarity)
    same = sum(p["same"] for p in pairs)
    print(
        f"{len(pairs)} pairs ({same} same, {len(pairs) - same} different); text decision at "
        f"SUARA_DUPLICATE_MIN_SIMILARITY={settings.min_similarity:g}"
        + (", same predicted category required" if args.same_category else "")
    )
    print(f"precision {chosen.precision:.3f}  recall {chosen.recall:.3f}  F1 {chosen.f1:.3f}\n")
    _print_sweep(scored, settings.min_similarity)
    _print_failures(pairs, scored, settings.min_similarity)
    return 0


def _fit_pairs(pairs: list[dict], args: argparse.Namespace) -> int:
    """Cross-validate the pair scorer by place (``group``, else the file's kelurahan), choose
    the threshold on the out-of-fold scores (best F1 with precision >= --min-precision), then
    fit on every pair and write the scorer with that threshold."""
    from services.categorization import duplicate_fit

    rows = [
        duplicates.pair_features(duplicates.signature(p["a"]), duplicates.signature(p["b"]))
        for p in pairs
    ]
    labels = [p["same"] for p in pairs]
    groups = [str(p.get("group") or p.get("kelurahan") or i) for i, p in enumerate(pairs)]
    oof = duplicate_fit.cross_validated(rows, labels, groups, args.folds, args.c)
    out_of_fold = list(zip(oof, labels, strict=True))
    threshold, cv = duplicate_fit.best_threshold(out_of_fold, args.min_precision)
    print(
        f"{len(pairs)} pairs, {len(set(groups))} places, {args.folds}-fold CV by place: at "
        f"{threshold:.2f} precision {cv.precision:.3f}  recall {cv.recall:.3f}  F1 {cv.f1:.3f}"
    )
    _print_sweep(out_of_fold, threshold)
    scorer = duplicate_fit.fit(rows, labels, args.c)
    scorer = duplicates.Scorer(scorer.weights, scorer.bias, threshold, ", ".join(args.file))
    Path(args.output).write_text(json.dumps(scorer.as_dict(), indent=2) + "\n", encoding="utf-8")
    print(f"\nweights: {dict(zip(duplicates.FEATURES, scorer.weights, strict=True))}")
    print(f"scorer -> {args.output} (threshold {threshold:.2f})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="suara", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    classify = commands.add_parser(
        "classify", help="JSON lines {'text': ...} on stdin -> one decision per line on stdout"
    )
    classify.add_argument("--model", help=f"model file (default: {DEFAULT_MODEL_PATH})")
    classify.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    classify.set_defaults(handler=_cmd_classify)

    evaluate_ = commands.add_parser("eval", help="scores of the model on labelled JSON lines")
    evaluate_.add_argument("file", nargs="?", help="JSONL {text, category} (default: held-out)")
    evaluate_.add_argument("--model", help=f"model file (default: {DEFAULT_MODEL_PATH})")
    evaluate_.set_defaults(handler=_cmd_eval)

    train_ = commands.add_parser("train", help="train on the corpus, evaluate, save the model")
    train_.add_argument("--output", default=str(DEFAULT_MODEL_PATH), help="model file to write")
    train_.add_argument(
        "--extra", action="append", help="JSONL {text, category} to train on too (repeatable)"
    )
    train_.add_argument(
        "--mongo-uri",
        help="also use/store in MongoDB (default: SUARA_CATEGORIZATION_MONGO_URI, "
        "else SUARA_MONGO_URI; database SUARA_CATEGORIZATION_DB)",
    )
    train_.add_argument("--seed", type=int, default=0)
    train_.set_defaults(handler=_cmd_train)

    pairs_ = commands.add_parser(
        "pairs",
        help='"me too": precision, recall and F1 of the text decision on labelled pairs '
        '(JSONL {"a", "b", "same"}) at SUARA_DUPLICATE_MIN_SIMILARITY, and a threshold sweep',
    )
    pairs_.add_argument(
        "file",
        nargs="+",
        help="JSONL pairs, e.g. services/categorization/corpus/duplicates_dev.jsonl",
    )
    pairs_.add_argument(
        "--fit",
        action="store_true",
        help="learn the pair scorer instead: CV by place, threshold, write --output",
    )
    pairs_.add_argument("--output", default=str(duplicates.SCORER_PATH), help="scorer file")
    pairs_.add_argument("--folds", type=int, default=5)
    pairs_.add_argument("--c", type=float, default=1.0, help="inverse L2 strength")
    pairs_.add_argument("--min-precision", type=float, default=0.9)
    pairs_.add_argument(
        "--same-category",
        action="store_true",
        help="also require the same predicted category (loads the model)",
    )
    pairs_.add_argument("--model", help=f"model file (default: {DEFAULT_MODEL_PATH})")
    pairs_.set_defaults(handler=_cmd_pairs)

    replay_ = commands.add_parser(
        "replay",
        help="rebuild a service's projection: replay intake's cases and categorization's "
        "decisions to its own queues (shared/replay.py)",
    )
    replay_.add_argument("service", choices=["reporting"])
    replay_.set_defaults(handler=_cmd_replay)

    import_ = commands.add_parser(
        "import", help="load earlier feedback (JSON lines or CSV) through intake, once"
    )
    import_.add_argument("file", type=Path, help="a .jsonl or .csv file")
    import_.add_argument("--source", help="the source of rows that name none, e.g. lapor")
    import_.add_argument(
        "--amqp-uri",
        help="the broker (default SUARA_AMQP_URI, else the local broker as city-service); the "
        "importer publishes to suara.intake with routing key feedback.submit, as a city "
        "service does",
    )
    import_.set_defaults(handler=_cmd_import)
    return parser


def _cmd_replay(args: argparse.Namespace) -> int:
    from shared import replay

    counts = replay.run(args.service)
    _log(f"suara replay {args.service}: {sum(counts.values())} events published")
    return 0


def _cmd_import(args: argparse.Namespace) -> int:
    from kombu import Connection, Producer
    from tqdm import tqdm

    from services.intake import importer

    if not args.file.is_file():
        _log(f"suara import: no such file {args.file}")
        return 2
    amqp_uri = (
        args.amqp_uri or os.environ.get("SUARA_AMQP_URI") or config.dev_amqp_uri("city-service")
    )
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = Producer(conn.channel())

        def publish(body: bytes) -> None:  # persistent, confirmed by the broker
            producer.publish(
                body,
                exchange="suara.intake",
                routing_key="feedback.submit",
                content_type="application/json",
                content_encoding="utf-8",
                delivery_mode=2,
                mandatory=True,
            )

        outcome = importer.run(
            args.file,
            publish,
            args.source,
            progress=lambda rows: tqdm(rows, unit=" rows", file=sys.stderr),
        )
    print(outcome.summary(), file=sys.stderr)
    return 1 if outcome.skipped else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "batch_size", 1) < 1:
        _log("suara: --batch-size must be positive")
        return 2
    try:
        return args.handler(args)
    except (corpus.CorpusError, OSError) as exc:
        _log(f"suara {args.command}: {exc}")
        return 2
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
