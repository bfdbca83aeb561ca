%% vaultdist_cluster: an optional cluster-formation strategy that connects this node to the live
%% members of its vaultdist registry cluster (issue #13). It reads the peers file the vaultdist agent
%% keeps from the registry (`DIR/peers`, the same file vaultdist_epmd resolves ports from) and dials
%% every member it is not connected to, in the background, with a per-peer backoff.
%%
%% Plain OTP:   erl ... -epmd_module vaultdist_epmd -vaultdist_epmd_peers_file DIR/peers \
%%                  -s vaultdist_cluster start
%% Elixir/OTP supervision tree:
%%   children = [{:vaultdist_cluster, peers_file: "/var/lib/vaultdist/app/peers"}]
%%   (or `vaultdist_cluster:child_spec([{peers_file, Path}])` in Erlang)
%%
%% Options (a proplist or map; each also as an init argument `-vaultdist_cluster_<name> Value`):
%%   peers_file   path of the peers file       default: -vaultdist_epmd_peers_file
%%   interval_ms  how often the file is read    default: 5000
%%   hidden       dial with net_kernel:hidden_connect_node/1 (attach to the members without joining
%%                their visible mesh)          default: false
%%   stale        also dial entries the agent marked stale (kept through a Vault outage)
%%                                              default: true
%%
%% What it deliberately does not do:
%% - It never changes `-connect_all` or `dist_auto_connect`. With `-connect_all false` global does not
%%   mesh the cluster transitively; this module then is what forms the mesh, by dialling each member
%%   itself, and it never dials a node it only learned about from a peer. On a node started with
%%   `-hidden` every connection it makes is hidden (OTP's rule), and so stays this module's too.
%% - It never disconnects: a node that left the registry (deregistered, evicted, token revoked) is no
%%   longer dialled, but an established, TLS-authenticated connection is not discovery's to cut.
%% - Nothing here authenticates: TLS distribution does. The registry only says where to knock.
-module(vaultdist_cluster).
-behaviour(gen_server).

-export([start/0, start/1, start_link/0, start_link/1, child_spec/1, status/0, refresh/0]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

-define(MAX_BACKOFF_MS, 60000).

-record(st, {peers_file :: string() | undefined,
             interval :: pos_integer(),
             hidden :: boolean(),
             stale :: boolean(),
             inflight = #{} :: #{node() => pid()},
             %% node => {consecutive failures, monotonic ms of the next allowed dial}
             backoff = #{} :: #{node() => {pos_integer(), integer()}},
             members = [] :: [node()],
             %% node => {Host, Port} of its entry: a changed entry (the node restarted on another
             %% port) is dialled at once, whatever its backoff
             addrs = #{} :: #{node() => {string(), inet:port_number()}},
             last_connected = [] :: [node()]}).

%% `-s vaultdist_cluster start`: not linked to the caller (init's process under -s).
start() -> start([]).
start(Opts) -> gen_server:start({local, ?MODULE}, ?MODULE, options(Opts), []).

start_link() -> start_link([]).
start_link(Opts) -> gen_server:start_link({local, ?MODULE}, ?MODULE, options(Opts), []).

child_spec(Opts) ->
    #{id => ?MODULE, start => {?MODULE, start_link, [Opts]}, restart => permanent, type => worker,
      modules => [?MODULE]}.

%% @doc #{peers_file, members (the file's entries dialled), connected (those connected now),
%% failing => [{Node, ConsecutiveFailures}]}.
status() -> gen_server:call(?MODULE, status).

%% @doc Reads the peers file and dials now (the agent may call this after it rewrote the file).
refresh() -> gen_server:call(?MODULE, refresh).

%%--------------------------------------------------------------------------------------------------

options(Opts) when is_map(Opts) -> options(maps:to_list(Opts));
options(Opts) when is_list(Opts) ->
    Get = fun(Key, Default, Parse) ->
                  case proplists:get_value(Key, Opts) of
                      undefined ->
                          case init:get_argument(list_to_atom("vaultdist_cluster_" ++ atom_to_list(Key))) of
                              {ok, [[V | _] | _]} -> Parse(V);
                              _ -> Default
                          end;
                      V -> Parse(V)
                  end
          end,
    Str = fun(V) when is_binary(V) -> binary_to_list(V); (V) -> V end,
    Bool = fun(V) when is_boolean(V) -> V; ("true") -> true; ("false") -> false;
              (V) -> erlang:error({vaultdist_cluster, {bad_option, V, "expected true or false"}}) end,
    Int = fun(V) when is_integer(V), V > 0 -> V;
             (V) when is_list(V) -> list_to_integer(V);
             (V) -> erlang:error({vaultdist_cluster, {bad_option, V, "expected a positive integer"}}) end,
    #{peers_file => Get(peers_file, vaultdist_epmd:peers_file(), Str),
      interval_ms => Get(interval_ms, 5000, Int),
      hidden => Get(hidden, false, Bool),
      stale => Get(stale, true, Bool)}.

init(#{peers_file := File, interval_ms := Interval, hidden := Hidden, stale := Stale}) ->
    case File of
        undefined ->
            logger:warning("vaultdist_cluster: no peers file (set peers_file or -vaultdist_epmd_peers_file); "
                           "nothing to connect to");
        _ ->
            ok
    end,
    self() ! tick,
    {ok, #st{peers_file = File, interval = Interval, hidden = Hidden, stale = Stale}}.

handle_call(status, _From, S) ->
    Connected = nodes(connected),
    Failing = [{N, F} || {N, {F, _}} <- maps:to_list(S#st.backoff)],
    {reply, #{peers_file => S#st.peers_file, members => S#st.members,
              connected => [N || N <- S#st.members, lists:member(N, Connected)],
              failing => lists:sort(Failing)}, S};
handle_call(refresh, _From, S) ->
    {reply, ok, dial(S)}.

handle_cast(_Msg, S) -> {noreply, S}.

handle_info(tick, S) ->
    erlang:send_after(S#st.interval, self(), tick),
    {noreply, dial(S)};
handle_info({dialed, Node, Result}, S = #st{inflight = In, backoff = B}) ->
    S1 = S#st{inflight = maps:remove(Node, In)},
    case Result of
        true ->
            case maps:is_key(Node, B) of
                true -> logger:notice("vaultdist_cluster: connected to ~ts", [Node]);
                false -> ok
            end,
            {noreply, S1#st{backoff = maps:remove(Node, B)}};
        _ ->
            {Fails, _} = maps:get(Node, B, {0, 0}),
            Delay = min(?MAX_BACKOFF_MS, S#st.interval * (1 bsl min(Fails, 16))),
            Fails =:= 0 andalso
                logger:warning("vaultdist_cluster: cannot connect to ~ts (~tp); retrying with backoff",
                               [Node, Result]),
            Next = erlang:monotonic_time(millisecond) + Delay,
            {noreply, S1#st{backoff = B#{Node => {Fails + 1, Next}}}}
    end;
handle_info(_Other, S) ->
    {noreply, S}.

%% One round: read the peers file, dial every member that is neither connected, nor being dialled,
%% nor backing off. Dials run in their own processes (a dead peer can take net_setuptime to fail).
dial(S = #st{peers_file = undefined}) ->
    S;
dial(S) ->
    case node() of
        nonode@nohost ->
            S;
        Self ->
            Entries = [E || E = {_, _, _, State} <- vaultdist_epmd:read_peers(S#st.peers_file),
                            S#st.stale orelse State =:= live],
            Others = [{list_to_atom(N), {H, P}} || {N, H, P, _} <- Entries, N =/= atom_to_list(Self)],
            Members = [N || {N, _} <- Others],
            Addrs = maps:from_list(Others),
            Moved = [N || {N, A} <- Others, maps:get(N, S#st.addrs, A) =/= A],
            Connected = nodes(connected),
            Now = erlang:monotonic_time(millisecond),
            Backoff0 = maps:without(Moved, S#st.backoff),
            Due = [N || N <- Members,
                        not lists:member(N, Connected),
                        not maps:is_key(N, S#st.inflight),
                        case maps:get(N, Backoff0, undefined) of
                            {_, Next} -> Now >= Next;
                            undefined -> true
                        end],
            Parent = self(),
            Hidden = S#st.hidden,
            In = lists:foldl(
                   fun(N, Acc) ->
                           Pid = spawn(fun() -> Parent ! {dialed, N, connect(N, Hidden)} end),
                           Acc#{N => Pid}
                   end, S#st.inflight, Due),
            %% forget the backoff of nodes that left the registry
            B = maps:with(Members, Backoff0),
            S#st{members = Members, inflight = In, backoff = B, addrs = Addrs}
    end.

connect(Node, true) -> net_kernel:hidden_connect_node(Node);
connect(Node, false) -> net_kernel:connect_node(Node).
