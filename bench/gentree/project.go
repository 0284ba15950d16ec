package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
)

// The realistic ML project tree of issue 15's WAN benchmark, about 42 MB:
// 1,200 Python modules (about 8 KiB each, code-like text that compresses
// about as real Python does), six CSV files of 4 MiB (timestamps, ids and
// decimals), two model checkpoints of 4 MiB of random bytes (8 MiB that no
// compressor shrinks), configs, a README and a .gitignore that excludes a
// few generated files. Deterministic: same bytes on every run.
const (
	projPkgs       = 40
	projModsPerPkg = 30
	projCSVs       = 6
	projCSVSize    = 4 << 20
	projCkpts      = 2
	projCkptSize   = 4 << 20
	projGitignore  = "__pycache__/\n*.pyc\n/wandb/\n.ipynb_checkpoints/\n"
)

var (
	pyNames = strings.Fields(`model data batch loss optimizer scheduler epoch step
		config layer hidden dropout logits labels inputs outputs encoder decoder
		attention embedding tokenizer dataset loader sampler metric accuracy
		gradient weight bias norm activation checkpoint device tensor shape
		feature target train valid test split seed window stride kernel pool
		head mask query key value cache state buffer grad lr momentum decay`)
	pyCalls = strings.Fields(`torch.zeros torch.ones torch.cat torch.stack np.mean
		np.std np.array F.relu F.softmax F.cross_entropy nn.Linear nn.Conv2d
		nn.LayerNorm nn.Dropout len range enumerate zip isinstance getattr
		logger.info logger.debug self.forward self.encode os.path.join`)
	pyTypes = strings.Split("int,float,str,bool,Tensor,Optional[Tensor],List[int],Tuple[int, int]", ",")
)

func generateProject(root string) error {
	rng := rand.New(rand.NewChaCha8([32]byte{'p', 'r', 'o', 'j', 'e', 'c', 't'}))
	if err := write(root, ".gitignore", []byte(projGitignore)); err != nil {
		return err
	}
	if err := write(root, "README.md", pyModule(rng, 6<<10)); err != nil {
		return err
	}
	for p := range projPkgs {
		for m := range projModsPerPkg {
			size := 2<<10 + rng.IntN(12<<10)
			if err := write(root, fmt.Sprintf("src/proj/pkg%02d/mod%02d.py", p, m), pyModule(rng, size)); err != nil {
				return err
			}
		}
		if err := write(root, fmt.Sprintf("src/proj/pkg%02d/__pycache__/mod00.cpython-312.pyc", p), random(rng, 2048)); err != nil {
			return err
		}
	}
	for c := range projCSVs {
		if err := write(root, fmt.Sprintf("data/train_%02d.csv", c), csvData(rng, projCSVSize)); err != nil {
			return err
		}
	}
	for c := range projCkpts {
		if err := write(root, fmt.Sprintf("checkpoints/epoch%02d.pt", c), random(rng, projCkptSize)); err != nil {
			return err
		}
	}
	for c := range 8 {
		if err := write(root, fmt.Sprintf("configs/exp%d.yaml", c), yamlConfig(rng)); err != nil {
			return err
		}
	}
	return nil
}

// pyModule writes about size bytes of Python-like code.
func pyModule(rng *rand.Rand, size int) []byte {
	var b bytes.Buffer
	b.WriteString("import os\nimport numpy as np\nimport torch\nimport torch.nn as nn\nimport torch.nn.functional as F\n\n")
	for b.Len() < size {
		name := pick(rng, pyNames) + "_" + pick(rng, pyNames)
		fmt.Fprintf(&b, "\ndef %s(%s: %s, %s: %s = %d) -> %s:\n", name, pick(rng, pyNames), pick(rng, pyTypes),
			pick(rng, pyNames), pick(rng, pyTypes), rng.IntN(512), pick(rng, pyTypes))
		fmt.Fprintf(&b, "    \"\"\"Compute the %s of the %s for each %s.\"\"\"\n", pick(rng, pyNames), pick(rng, pyNames), pick(rng, pyNames))
		for range 3 + rng.IntN(10) {
			pyStatement(rng, &b)
		}
		fmt.Fprintf(&b, "    return %s\n", pick(rng, pyNames))
	}
	return b.Bytes()[:size]
}

func pyStatement(rng *rand.Rand, b *bytes.Buffer) {
	switch rng.IntN(4) {
	case 0:
		fmt.Fprintf(b, "    %s = %s(%s, %s=%d)\n", pick(rng, pyNames), pick(rng, pyCalls), pick(rng, pyNames), pick(rng, pyNames), rng.IntN(1024))
	case 1:
		fmt.Fprintf(b, "    if %s.%s > %.4f:\n        %s = %s * %s\n", pick(rng, pyNames), pick(rng, pyNames), rng.Float64(),
			pick(rng, pyNames), pick(rng, pyNames), pick(rng, pyNames))
	case 2:
		fmt.Fprintf(b, "    for %s in range(%d):\n        %s += %s(%s[%s])\n", pick(rng, pyNames), rng.IntN(100),
			pick(rng, pyNames), pick(rng, pyCalls), pick(rng, pyNames), pick(rng, pyNames))
	default:
		fmt.Fprintf(b, "    # %s the %s before the %s\n", pick(rng, pyNames), pick(rng, pyNames), pick(rng, pyNames))
	}
}

// csvData writes exactly size bytes of CSV rows.
func csvData(rng *rand.Rand, size int) []byte {
	var b bytes.Buffer
	b.WriteString("timestamp,sensor,x,y,z,temperature,label\n")
	t := int64(1_700_000_000)
	for b.Len() < size {
		t += int64(1 + rng.IntN(5))
		fmt.Fprintf(&b, "%d,s%03d,%.5f,%.5f,%.5f,%.2f,%d\n", t, rng.IntN(200), rng.NormFloat64(), rng.NormFloat64(),
			rng.NormFloat64(), 20+5*rng.Float64(), rng.IntN(10))
	}
	return b.Bytes()[:size]
}

func yamlConfig(rng *rand.Rand) []byte {
	return fmt.Appendf(nil, "model:\n  hidden: %d\n  layers: %d\n  dropout: %.2f\ntrain:\n  lr: %.5f\n  batch_size: %d\n  epochs: %d\n",
		64<<rng.IntN(4), 2+rng.IntN(10), rng.Float64()/2, rng.Float64()/100, 16<<rng.IntN(4), 10+rng.IntN(90))
}

func pick(rng *rand.Rand, words []string) string { return words[rng.IntN(len(words))] }
