"""Training-step benchmark: an FA-style step against fa_core's default path, side by side.

FA-style: the frozen image encoder runs on every step, fp32, SAM's own attention.
fa_core:  the frozen encoder's outputs come from the embedding cache (fp16 on disk), and on CUDA
          bf16 autocast; same model, same head, same batch, same optimizer.
Each path runs in its own child process (so its peak memory is its own), a few steps after a
warm-up; the table gives ms per step, images per second, peak memory and the ratio, and the loss
of both paths on the same first batch.

    python bench/train_step.py --model-type vit_b --image-size 1024 --batch-size 2 --steps 3
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import platform
import resource
import tempfile
import time

import torch
import torch.nn.functional as F


def make_batch(args):
    generator = torch.Generator().manual_seed(0)
    images = torch.randn(args.batch_size, 3, args.image_size, args.image_size, generator=generator)
    labels = torch.randint(0, args.classes, (args.batch_size, args.image_size, args.image_size), generator=generator)
    return images, labels


def build(args, device):
    from fa_core.models import SemanticSam

    torch.manual_seed(0)
    model = SemanticSam(class_num=args.classes, model_type=args.model_type, fix_img_en=True,
                        image_size=args.image_size if args.model_type == "vit_tiny" else None).to(device)  # fmt: skip
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-3, momentum=0.9)
    return model, optimizer


def step(model, optimizer, labels, device, amp_dtype, images=None, embeddings=None):
    with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
        logits, _ = model(images, image_embeddings=embeddings)
    logits = F.interpolate(logits.float(), size=labels.shape[-2:], mode="bilinear", align_corners=False)
    loss = F.cross_entropy(logits, labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.item()


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def run_path(path: str, args, queue) -> None:
    torch.set_num_threads(args.threads or torch.get_num_threads())
    device = torch.device(args.device)
    model, optimizer = build(args, device)
    images, labels = make_batch(args)
    images, labels = images.to(device), labels.to(device)
    from fa_core.engine.embedding_cache import EmbeddingCache, encoder_fingerprint
    from fa_core.models.sdpa import use_sdpa_attention

    if path == "cache_fill":  # once per image, in its own process so it does not count in the step's memory
        use_sdpa_attention(model.img_adapter.sam_img_encoder)
        cache = EmbeddingCache(args.cache_dir, encoder_fingerprint(model))
        started = time.perf_counter()
        with torch.no_grad():
            for i, embedding in enumerate(model.img_adapter(images)):
                cache.put(f"{i:064d}", embedding)
        sync(device)
        queue.put({"path": path, "seconds": time.perf_counter() - started})
        return
    if path == "fa_style":
        run = lambda: step(model, optimizer, labels, device, None, images=images)  # noqa: E731
    else:
        cache = EmbeddingCache(args.cache_dir, encoder_fingerprint(model))
        amp = torch.bfloat16 if device.type == "cuda" and args.amp == "bf16" else None

        def run():
            embeddings = torch.stack([torch.from_numpy(cache.get(f"{i:064d}").astype("float32")) for i in range(len(images))])
            return step(model, optimizer, labels, device, amp, embeddings=embeddings.to(device))

    first_loss = run()  # warm-up, also the loss on the shared first batch
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    sync(device)
    started = time.perf_counter()
    for _ in range(args.steps):
        run()
    sync(device)
    ms = (time.perf_counter() - started) * 1000 / args.steps
    peak = torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"path": path, "first_step_loss": first_loss, "ms_per_step": ms,
               "images_per_s": args.batch_size * 1000 / ms, "peak_memory_mb": peak,
               "peak_memory_kind": "CUDA max allocated" if device.type == "cuda" else "process peak RSS"})  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-type", default="vit_b")
    parser.add_argument("--image-size", type=int, default=1024)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--classes", type=int, default=21)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--amp", choices=("bf16", "off"), default="bf16", help="fa_core path on CUDA")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()

    args.cache_dir = tempfile.mkdtemp(prefix="fa_bench_cache_")
    context = mp.get_context("spawn")
    results = []
    for path in ("fa_style", "cache_fill", "fa_core"):
        queue = context.Queue()
        child = context.Process(target=run_path, args=(path, args, queue))
        child.start()
        results.append(queue.get())
        child.join()
    fa_style, fill, ours = results
    results = [fa_style, ours]
    machine = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    print(f"\n{args.model_type} at {args.image_size} px, batch {args.batch_size}, {args.steps} steps after warm-up, {args.device} ({machine})")
    print(f"{'path':<10} {'ms/step':>10} {'img/s':>8} {'peak MB':>9} {'loss (same batch)':>18}")
    for r in results:
        print(f"{r['path']:<10} {r['ms_per_step']:>10.1f} {r['images_per_s']:>8.2f} {r['peak_memory_mb']:>9.0f} {r['first_step_loss']:>18.5f}")
    ratio = fa_style["ms_per_step"] / ours["ms_per_step"]
    print(f"fa_core step is {ratio:.1f}x faster (cache fill, once per image: {fill['seconds']:.1f} s for the batch); "
          f"peak memory {results[0]['peak_memory_kind']}")  # fmt: skip
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"args": vars(args), "machine": machine, "results": results, "cache_fill_seconds": fill["seconds"],
                       "speedup": ratio}, file, indent=2)  # fmt: skip


if __name__ == "__main__":
    main()
