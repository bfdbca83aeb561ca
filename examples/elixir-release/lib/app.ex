defmodule App do
  @moduledoc "A tiny app whose node is reached over mutual-TLS distribution."

  @doc "Describes the distribution link to the calling node (use it through `bin/app rpc`)."
  def describe_link do
    caller = node(Process.group_leader())
    "#{node()} answers #{caller} over #{tls_version(caller)}"
  end

  @doc "The TLS version of the live distribution connection to `peer`."
  def tls_version(peer) do
    with {^peer, ctrl} <- List.keyfind(:erlang.system_info(:dist_ctrl), peer, 0),
         {:ok, socket} <- :tls_sender.dist_tls_socket(ctrl),
         {:ok, [protocol: version]} <- :ssl.connection_information(socket, [:protocol]) do
      version
    else
      _ -> :not_tls
    end
  end
end
