defmodule App.MixProject do
  use Mix.Project

  # No dependencies on purpose: the release builds offline (`MIX_ENV=prod mix release`).
  # The vaultdist companion modules live in src/ (Erlang sources, compiled into the app by mix).
  def project do
    [
      app: :app,
      version: "0.1.0",
      elixir: "~> 1.14",
      start_permanent: Mix.env() == :prod,
      erlc_paths: ["src"],
      deps: [],
      releases: [app: [include_executables_for: [:unix]]]
    ]
  end

  def application do
    # :ssl for TLS distribution (and so vaultdist_reload also clears the ssl app's PEM cache).
    [extra_applications: [:logger, :ssl, :public_key, :crypto], mod: {App.Application, []}]
  end
end
