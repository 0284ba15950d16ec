package transport

import (
	"crypto/sha256"
	"sync"

	"golang.org/x/crypto/ssh"
)

// keyCache holds the signers of encrypted key files this process has
// decrypted, keyed by the SHA-256 of the file's (encrypted) content, so a
// passphrase is asked once per process: a ProxyJump hop and the target
// using one key, or a reconnect after a dropped link, reuse the signer
// instead of reading the passphrase again (a second read from
// --passphrase-stdin finds stdin empty). It lives in memory only, like
// ssh-agent's, and is process-wide on purpose: the passphrase source is
// the process's terminal or stdin.
type keyCache struct {
	mu sync.Mutex // held across a decrypt, so concurrent dials ask once
	m  map[[sha256.Size]byte]ssh.Signer
}

// decryptedKeys is the process's cache.
var decryptedKeys keyCache

// get returns the signer for the key file content data, calling decrypt
// (under the lock) when none is cached, and caches what it returns.
func (c *keyCache) get(data []byte, decrypt func() (ssh.Signer, error)) (ssh.Signer, error) {
	sum := sha256.Sum256(data)
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[sum]; ok {
		return s, nil
	}
	s, err := decrypt()
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = make(map[[sha256.Size]byte]ssh.Signer)
	}
	c.m[sum] = s
	return s, nil
}
