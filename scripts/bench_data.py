#!/usr/bin/env python3
"""Writes the benchmark's mixed data set: incompressible "photos", text documents and a few
large CSV exports, about 650 MB per unit of scale. Deterministic for a given scale."""

import os
import random
import sys

MB = 1024 * 1024


def photos(root, total):
    os.makedirs(root, exist_ok=True)
    rng = random.Random(1)
    written, n = 0, 0
    while written < total:
        size = min(rng.randint(1 * MB, 6 * MB), total - written)
        with open(os.path.join(root, f"IMG_{n:05d}.jpg"), "wb") as f:
            f.write(os.urandom(size))
        written += size
        n += 1


WORDS = (
    "facture client commande livraison paiement stock article remise total taxe "
    "invoice customer order delivery payment warehouse item discount amount tax "
    "été réunion projet équipe rapport budget prévision année mois semaine"
).split()


def documents(root, total):
    rng = random.Random(2)
    written, n = 0, 0
    while written < total:
        folder = os.path.join(root, f"{n // 500:03d}")
        os.makedirs(folder, exist_ok=True)
        words = rng.choices(WORDS, k=rng.randint(500, 5000))
        lines = [" ".join(words[i : i + 12]) for i in range(0, len(words), 12)]
        body = ("\n".join(lines) + "\n").encode()
        with open(os.path.join(folder, f"doc-{n:06d}.txt"), "wb") as f:
            f.write(body)
        written += len(body)
        n += 1


def csv_exports(root, count, each):
    os.makedirs(root, exist_ok=True)
    rng = random.Random(3)
    for k in range(count):
        with open(os.path.join(root, f"export-{k}.csv"), "w") as f:
            f.write("id,date,customer,item,quantity,unit_price,total,status\n")
            written, i = 0, 0
            chunk = []
            while written < each:
                q = rng.randint(1, 50)
                p = rng.randint(100, 99999) / 100
                line = (
                    f"{i},2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},"
                    f"CUST-{rng.randint(1, 20000):05d},{rng.choice(WORDS)}-{rng.randint(1, 999)},"
                    f"{q},{p:.2f},{q * p:.2f},{rng.choice(('paid', 'open', 'late'))}\n"
                )
                chunk.append(line)
                written += len(line)
                i += 1
                if len(chunk) >= 10000:
                    f.write("".join(chunk))
                    chunk = []
            f.write("".join(chunk))


def main():
    root, scale = sys.argv[1], int(sys.argv[2])
    photos(os.path.join(root, "photos"), 380 * MB * scale)
    documents(os.path.join(root, "documents"), 60 * MB * scale)
    csv_exports(os.path.join(root, "exports"), 3, 70 * MB * scale)


if __name__ == "__main__":
    main()
