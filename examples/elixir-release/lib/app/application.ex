defmodule App.Application do
  @moduledoc false
  use Application

  @impl true
  def start(_type, _args) do
    # vaultdist: install the SIGHUP handler, then write the pidfile (-vaultdist_sighup true,
    # -vaultdist_pidfile PATH from rel/env.sh.eex). The order matters: the renewal agent signals the
    # pid in the pidfile, and without the handler SIGHUP would kill the node.
    :ok = :vaultdist_reload.start()
    Supervisor.start_link([], strategy: :one_for_one, name: App.Supervisor)
  end
end
