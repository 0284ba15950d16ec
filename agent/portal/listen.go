package portal

import (
	"fmt"
	"net"
	"net/netip"
)

// DefaultAddr is where "ferry ui" listens unless told otherwise.
const DefaultAddr = "127.0.0.1:8765"

// Listen opens a TCP listener on addr, which must name a loopback address
// (127.0.0.0/8, ::1 or "localhost"): the portal controls runs and reads
// their data, so it is never exposed to the network. Port 0 picks a free
// port.
func Listen(addr string) (net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("parse address %q: %w (want HOST:PORT, such as 127.0.0.1:0)", addr, err)
	}
	if err := checkLoopback(host); err != nil {
		return nil, err
	}
	if host == "localhost" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return ln, nil
}

// ErrNotLoopback is returned by Listen for an address other machines could
// reach.
var ErrNotLoopback = fmt.Errorf("the portal listens on loopback addresses only")

// checkLoopback accepts "localhost" and loopback IP literals only: a host
// name other than localhost could resolve to anything.
func checkLoopback(host string) error {
	if host == "localhost" {
		return nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return fmt.Errorf("%w: %q is not one (use 127.0.0.1 or ::1; reach it from elsewhere with ssh -L)", ErrNotLoopback, host)
	}
	return nil
}
