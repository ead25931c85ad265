//go:build tools

// Package tools pins the kwok command built by test/peers/build-peers.sh.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
