// Command vaultdist is the vaultdist node registry: a secrets-engine plugin for HashiCorp Vault and
// OpenBao (both speak the same go-plugin handshake, so one binary serves both). The server starts it as
// a child process; it is never run by hand. See README.md for installation and the API.
package main

import (
	"os"

	hclog "github.com/hashicorp/go-hclog"
	"github.com/hashicorp/vault/sdk/plugin"

	"github.com/vaultdist/vaultdist/packages/vault-plugin/registry"
)

func main() {
	logger := hclog.New(&hclog.LoggerOptions{Name: "vaultdist", Output: os.Stderr, JSONFormat: true})
	// Multiplexed: one plugin process serves every mount of this plugin (Vault ≥ 1.12, OpenBao).
	// No TLSProviderFunc: the server sets up go-plugin's automatic mTLS.
	if err := plugin.ServeMultiplex(&plugin.ServeOpts{BackendFactoryFunc: registry.Factory, Logger: logger}); err != nil {
		logger.Error("plugin shutting down", "error", err)
		os.Exit(1)
	}
}
