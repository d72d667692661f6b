package granttest

import (
	"sync"

	"github.com/99designs/keyring"
)

// CountingRing counts the reads of the keyring it wraps: Get, GetMetadata
// and Keys.
type CountingRing struct {
	keyring.Keyring
	mu    sync.Mutex
	reads int
}

func (c *CountingRing) count() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
}

func (c *CountingRing) Get(key string) (keyring.Item, error) {
	c.count()
	return c.Keyring.Get(key)
}

func (c *CountingRing) GetMetadata(key string) (keyring.Metadata, error) {
	c.count()
	return c.Keyring.GetMetadata(key)
}

func (c *CountingRing) Keys() ([]string, error) {
	c.count()
	return c.Keyring.Keys()
}

// Reads returns how many reads there were.
func (c *CountingRing) Reads() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reads
}
