// Package transport connects to compute targets over SSH the way OpenSSH
// users expect: ~/.ssh/config aliases (HostName, User, Port, IdentityFile,
// ProxyJump, UserKnownHostsFile), known_hosts verification with hashed
// entries and accept-new, key files, ssh-agent (IdentitiesOnly-style when a
// key file is configured) and passwords, and keepalives that turn a dead peer
// into an error within 15 seconds.
//
// One Client wraps one SSH connection and is reused for everything: remote
// commands (Exec, StartConn), SFTP (one lazily created session), and unix
// socket forwarding (DialUnix). The package knows nothing about runs.
//
// Errors that callers branch on are typed (HostKeyUnknownError,
// HostKeyChangedError, AuthError) or sentinels (ErrPassphraseRequired,
// ErrConnLost); IsPermanent tells a retryable failure from one that a retry
// cannot fix.
package transport
