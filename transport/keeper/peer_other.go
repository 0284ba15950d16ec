//go:build !linux

package keeper

import (
	"errors"
	"net"
)

// checkPeer refuses every peer: this platform's peer credentials are not
// read, so no keeper runs here.
func checkPeer(net.Conn) error {
	return errors.New("peer credentials are not checked on this platform")
}

// Supported reports whether a keeper can run here.
const Supported = false
