"""A tiny training script: fits y = 3x + 2 by stochastic gradient descent.

Pure Python (no numpy), so it runs on any target with python3. It shows what
a ferry run gives a script: live logs, metrics through ferry_run, and an
outputs/ directory that comes back to your laptop when the run ends.
"""
import argparse
import json
import os
import random
import time

try:
    import ferry_run  # provided by ferry on every target
except ImportError:  # running outside ferry
    ferry_run = None


def log_metric(name, value, step):
    if ferry_run is not None:
        ferry_run.log(name, value, step=step)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    data = [(x, 3 * x + 2 + rng.gauss(0, 0.1)) for x in (rng.uniform(-1, 1) for _ in range(256))]
    w, b = 0.0, 0.0
    print(f"run {os.environ.get('FERRY_RUN_ID', '(not under ferry)')}: {len(data)} samples, lr={args.lr}")
    for epoch in range(1, args.epochs + 1):
        rng.shuffle(data)
        total = 0.0
        for x, y in data:
            err = (w * x + b) - y
            w -= args.lr * err * x
            b -= args.lr * err
            total += err * err
        loss = total / len(data)
        print(f"epoch {epoch}/{args.epochs}  loss {loss:.5f}  w {w:.3f}  b {b:.3f}", flush=True)
        log_metric("loss", loss, epoch)
        time.sleep(0.1)

    out = os.environ.get("FERRY_OUTPUTS_DIR", "outputs")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "model.json"), "w") as f:
        json.dump({"w": w, "b": b, "epochs": args.epochs}, f)
    print(f"saved {os.path.join('outputs', 'model.json')}")


if __name__ == "__main__":
    main()
