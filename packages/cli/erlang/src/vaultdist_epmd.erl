%% vaultdist_epmd: an `-epmd_module` that never contacts any epmd. Distribution ports come from
%% configuration, so no port mapper daemon is needed or reachable (nothing listens on 4369).
%%
%% Why (OTP 25, measured): with the default erl_epmd and `-start_epmd false -erl_epmd_port P`, a node
%% still registers with an epmd if one happens to run on the host, and it assumes EVERY peer listens on
%% its own port P, so two nodes on one IP cannot both use it. `-no_epmd` with the default module fails.
%% This module fixes both.
%%
%% Use (always together with `-start_epmd false`; without it erlexec still spawns an epmd daemon, and
%% `-no_epmd` skips start_link/0 so listen_port_please/2 is never consulted):
%%
%%   erl -name foo@10.0.0.5 -proto_dist inet_tls -ssl_dist_optfile /etc/vaultdist/ssl_dist.conf \
%%       -start_epmd false -epmd_module vaultdist_epmd -erl_epmd_port 14369 -pa /path/to/ebin
%%
%% Port configuration (init arguments), looked up in this order for node Name@Host:
%%   -vaultdist_epmd_ports foo=9101,bar@10.0.0.6=9102   per-node map; a key is a node name part or a
%%                                                       full name@host (the full name wins)
%%   -vaultdist_epmd_port_base B                         derived: port = B + the trailing number of the
%%                                                       name part (app0 -> B, app-3 -> B+3); names
%%                                                       without a trailing number fall through
%%   -erl_epmd_port P                                    one fixed port for every node (the default)
%% The node's own listen port is looked up the same way with its own name. A node that has no port
%% configured for itself refuses to start distribution with `{vaultdist_epmd, {no_port, Node}}`
%% (client-only nodes started with `-dist_listen false` never ask), unless it has a port file (below):
%% then it listens on a dynamic port (or one from `-kernel inet_dist_listen_min/max`).
%%
%% Registry discovery (issue #13), both optional:
%%   -vaultdist_epmd_peers_file DIR/peers   the vaultdist agent's last-known registry members
%%                                          (`node <name@host> <host> <port> <live|stale> ...` lines).
%%                                          A peer's port (and address) comes from its entry there,
%%                                          after the per-node map and before the port base and the
%%                                          fixed -erl_epmd_port. Read on every lookup (the agent
%%                                          replaces it atomically); stale entries are used too: they
%%                                          are the best address known during a Vault outage.
%%   -vaultdist_epmd_port_file DIR/dist.port written (atomically) when the node starts listening:
%%                                          `port P`, `otp_release R`, `os_pid PID`, `name N`, so the
%%                                          agent can register a node whose port is dynamic.
-module(vaultdist_epmd).

-export([start_link/0, register_node/2, register_node/3, listen_port_please/2,
         port_please/2, port_please/3, address_please/3, names/0, names/1, port_for/2,
         peers/0, peers_file/0, read_peers/1]).

%% ERL_DIST_VER_LOW of OTP 25 (what erl_epmd answers for a fixed port; every OTP >= 23 speaks it).
-define(DIST_VERSION, 6).

%% Nothing to run: there is no daemon to talk to. Returning ignore keeps the supervisor happy.
start_link() ->
    ignore.

%% Registration is a no-op. {ok, -1} makes net_kernel choose a random creation (OTP >= 23).
register_node(Name, Port) ->
    register_node(Name, Port, inet_tcp).

register_node(Name, Port, _Driver) ->
    write_port_file(Name, Port),
    {ok, -1}.

%% The port this node listens on (0: dynamic, when a port file reports it to the agent).
listen_port_please(Name, Host) ->
    case {static_port_for(Name, Host), port_file()} of
        {{ok, Port}, _} ->
            {ok, Port};
        {error, PortFile} when PortFile =/= undefined ->
            {ok, 0};
        {error, undefined} ->
            Node = node_string(Name, Host),
            logger:error("vaultdist_epmd: no distribution port configured for this node (~ts); set "
                         "-erl_epmd_port, -vaultdist_epmd_ports, -vaultdist_epmd_port_base, or "
                         "-vaultdist_epmd_port_file for a dynamic port", [Node]),
            erlang:error({vaultdist_epmd, {no_port, Node}})
    end.

%% Resolves the peer's address and port in one step, so port_please is never needed for dialling.
address_please(Name, Host, AddressFamily) ->
    case resolve(Name, Host) of
        {ok, Port, DialHost} ->
            case inet:getaddr(DialHost, AddressFamily) of
                {ok, Ip} -> {ok, Ip, Port, ?DIST_VERSION};
                Error -> Error
            end;
        error ->
            case inet:getaddr(Host, AddressFamily) of
                {ok, _} -> no_port(Name, Host);
                Error -> Error
            end
    end.

port_please(Name, Host) ->
    port_please(Name, Host, infinity).

port_please(Name, Host, _Timeout) ->
    case port_for(Name, Host) of
        {ok, Port} -> {port, Port, ?DIST_VERSION};
        error -> no_port(Name, Host), noport
    end.

%% There is no registry to list (net_adm:names/0,1 get the same answer as with no epmd running).
names() ->
    {error, address}.

names(_Host) ->
    {error, address}.

%% @doc The configured distribution port of Name@Host (Name: atom or string; Host: string, atom or IP
%% tuple; an IP tuple only matches name-part keys). Exported for diagnostics.
-spec port_for(atom() | string(), atom() | string() | inet:ip_address()) -> {ok, inet:port_number()} | error.
port_for(Name, Host) ->
    case resolve(Name, Host) of
        {ok, Port, _} -> {ok, Port};
        error -> error
    end.

%% @doc The peers file's entries as `{Node, Host, Port, live | stale}` (Node: "name@host" string);
%% [] without a peers file or when it cannot be read.
-spec peers() -> [{string(), string(), inet:port_number(), live | stale}].
peers() ->
    case peers_file() of
        undefined -> [];
        Path -> read_peers(Path)
    end.

%% @doc The `-vaultdist_epmd_peers_file` path, or undefined.
peers_file() ->
    case init:get_argument(vaultdist_epmd_peers_file) of
        {ok, [[P | _] | _]} -> P;
        _ -> undefined
    end.

%%--------------------------------------------------------------------------------------------------

%% Port (and the host to dial) of Name@Host: the per-node map (full name, then name part), the peers
%% file (exact name@host), the port base, the fixed port.
resolve(Name0, Host0) ->
    Name = to_list(Name0),
    Full = full_name(Name, Host0),
    Map = port_map(),
    Lookups = [fun() -> with_host(lookup(Full, Map), Host0) end,
               fun() -> with_host(lookup(Name, Map), Host0) end,
               fun() -> peer_lookup(Full) end,
               fun() -> with_host(derived(Name), Host0) end,
               fun() -> with_host(fixed(), Host0) end],
    first3(Lookups).

%% The node's own listen port: configuration only (never the peers file: a restarted node must not
%% take its previous, possibly reused, port from there).
static_port_for(Name0, Host0) ->
    Name = to_list(Name0),
    Map = port_map(),
    first([fun() -> lookup(full_name(Name, Host0), Map) end,
           fun() -> lookup(Name, Map) end,
           fun() -> derived(Name) end,
           fun() -> fixed() end]).

full_name(Name, Host0) ->
    case host_string(Host0) of
        undefined -> undefined;
        H -> Name ++ "@" ++ H
    end.

with_host({ok, Port}, Host) -> {ok, Port, Host};
with_host(error, _Host) -> error.

first3([]) -> error;
first3([F | Rest]) ->
    case F() of
        {ok, _, _} = Ok -> Ok;
        error -> first3(Rest)
    end.

peer_lookup(undefined) -> error;
peer_lookup(Full) ->
    case lists:keyfind(Full, 1, peers()) of
        {_, Host, Port, _State} -> {ok, Port, Host};
        false -> error
    end.

%% @doc The entries of a peers file (see peers/0); [] when it cannot be read. Used by vaultdist_cluster.
-spec read_peers(file:filename()) -> [{string(), string(), inet:port_number(), live | stale}].
read_peers(Path) ->
    case prim_file:read_file(Path) of
        {ok, Bin} ->
            %% Line by line: a line that is not UTF-8 is skipped (it used to crash the whole read).
            lists:flatmap(fun(L) ->
                                  case unicode:characters_to_list(L) of
                                      Line when is_list(Line) -> peer_line(Line);
                                      _ -> []
                                  end
                          end, binary:split(Bin, <<"\n">>, [global]));
        {error, _} ->
            []
    end.

peer_line(Line) ->
    case string:lexemes(Line, " \t\r") of
        ["node", Node, Host, PortS, State | _] ->
            try list_to_integer(PortS) of
                Port when Port >= 1, Port =< 65535 ->
                    case valid_node(Node) of
                        true -> [{Node, Host, Port, case State of "stale" -> stale; _ -> live end}];
                        false -> []
                    end;
                _ -> []
            catch error:badarg -> []
            end;
        _ ->
            []
    end.

valid_node(Node) ->
    re:run(Node, "^[A-Za-z0-9_-]+@[A-Za-z0-9.-]+$", [{capture, none}]) =:= match.

port_file() ->
    case init:get_argument(vaultdist_epmd_port_file) of
        {ok, [[P | _] | _]} -> P;
        _ -> undefined
    end.

%% Written from register_node/3, i.e. once the listen socket is bound: the real port even when it
%% was dynamic. Temp file + rename: the agent never reads a half-written file. prim_file: at boot
%% distribution starts before the file server.
write_port_file(Name, Port) ->
    case port_file() of
        undefined ->
            ok;
        Path ->
            Text = io_lib:format("port ~b~notp_release ~ts~nos_pid ~ts~nname ~ts~n",
                                 [Port, erlang:system_info(otp_release), os:getpid(), to_list(Name)]),
            Tmp = Path ++ ".tmp." ++ os:getpid(),
            case prim_file:write_file(Tmp, unicode:characters_to_binary(Text)) of
                ok ->
                    case prim_file:rename(Tmp, Path) of
                        ok -> ok;
                        {error, Why} -> port_file_error(Path, Why)
                    end;
                {error, Why} ->
                    port_file_error(Path, Why)
            end
    end.

port_file_error(Path, Why) ->
    %% not fatal: the node runs, the agent just cannot register a dynamic port
    logger:error("vaultdist_epmd: cannot write the port file ~ts: ~tp", [Path, Why]).

first([]) -> error;
first([F | Rest]) ->
    case F() of
        {ok, _} = Ok -> Ok;
        error -> first(Rest)
    end.

lookup(undefined, _Map) -> error;
lookup(Key, Map) ->
    case lists:keyfind(Key, 1, Map) of
        {_, Port} -> {ok, Port};
        false -> error
    end.

port_map() ->
    case init:get_argument(vaultdist_epmd_ports) of
        {ok, Args} ->
            lists:flatmap(fun parse_map/1, lists:append(Args));
        error ->
            []
    end.

parse_map(S) ->
    [parse_entry(E) || E <- string:split(S, ",", all), E =/= ""].

parse_entry(E) ->
    case string:split(E, "=") of
        [Key, PortS] when Key =/= "" ->
            {Key, port_value(vaultdist_epmd_ports, PortS)};
        _ ->
            bad_config(vaultdist_epmd_ports, E, "expected name=port or name@host=port")
    end.

derived(Name) ->
    case init:get_argument(vaultdist_epmd_port_base) of
        {ok, [[BaseS | _] | _]} ->
            Base = port_value(vaultdist_epmd_port_base, BaseS),
            case re:run(Name, "([0-9]+)$", [{capture, all_but_first, list}]) of
                {match, [N]} -> checked_port(vaultdist_epmd_port_base, Base + list_to_integer(N));
                nomatch -> error
            end;
        _ ->
            error
    end.

fixed() ->
    case init:get_argument(erl_epmd_port) of
        {ok, [[PortS | _] | _]} -> {ok, port_value(erl_epmd_port, PortS)};
        _ -> error
    end.

port_value(Flag, S) ->
    try list_to_integer(string:trim(S)) of
        P -> {ok, Port} = checked_port(Flag, P), Port
    catch
        error:badarg -> bad_config(Flag, S, "not an integer")
    end.

checked_port(_Flag, P) when is_integer(P), P >= 1, P =< 65535 -> {ok, P};
checked_port(Flag, P) -> bad_config(Flag, P, "not a TCP port (1-65535)").

bad_config(Flag, Value, Why) ->
    logger:error("vaultdist_epmd: bad -~s value ~tp: ~ts", [Flag, Value, Why]),
    erlang:error({vaultdist_epmd, {bad_config, Flag, Value, Why}}).

no_port(Name, Host) ->
    logger:warning("vaultdist_epmd: no distribution port configured for ~ts", [node_string(Name, Host)]),
    {error, {vaultdist_epmd, no_port}}.

node_string(Name, Host) ->
    case host_string(Host) of
        undefined -> to_list(Name);
        H -> to_list(Name) ++ "@" ++ H
    end.

host_string(H) when is_atom(H) -> atom_to_list(H);
host_string(H) when is_list(H) -> H;
host_string(H) when is_binary(H) -> binary_to_list(H);
host_string(_Ip) -> undefined.

to_list(A) when is_atom(A) -> atom_to_list(A);
to_list(B) when is_binary(B) -> binary_to_list(B);
to_list(L) when is_list(L) -> L.
