%% vaultdist_name_check: bind a peer's certificate to its node NAME (optional, opt-in).
%%
%% Why: with TLS distribution, OTP checks the server's certificate against the host part of the node
%% name, and on the server side nothing about the client's name at all: any certificate from the CA is
%% accepted, so a node holding `bar@10.0.0.6`'s valid certificate can connect as `evil@10.0.0.6`. A TLS
%% verify_fun cannot close this: it runs before the distribution handshake carries the node name.
%% vaultdist certificates carry the identity as a URI SAN `erlang://name@host`; this module compares it
%% with the connected node's name right after `nodeup` and disconnects on mismatch.
%%
%% CAVEAT (documented window): the check runs after the connection is up. For a short moment (the time
%% between nodeup and this process handling it, typically well under a millisecond, longer on a busy
%% node) the peer IS connected and can send messages, including rpc/spawn requests. Treat this as
%% containment of a compromised or misused certificate, not as an authorization boundary; the
%% authoritative boundary remains the CA (who can get a certificate at all).
%%
%% Use: `-s vaultdist_name_check start` at boot (or `vaultdist_name_check:start()` from an
%% application), optionally with `-vaultdist_name_check log` to only log mismatches instead of
%% disconnecting. Hidden nodes (remote shells, `bin/app rpc`) are checked too: give them their own
%% certificate whose URI SAN matches their name, or run the check in `log` mode.
-module(vaultdist_name_check).

-export([start/0, start/1, stop/0, check/1, peer_identities/1]).

-define(NAME, ?MODULE).

%% @doc Starts the checker (idempotent), mode from `-vaultdist_name_check enforce|log` (default enforce).
-spec start() -> ok.
start() ->
    Mode = case init:get_argument(vaultdist_name_check) of
               {ok, [["log" | _] | _]} -> log;
               {ok, [["enforce" | _] | _]} -> enforce;
               {ok, [[] | _]} -> enforce;
               {ok, [[Other | _] | _]} -> erlang:error({vaultdist_name_check, {bad_init_arg, vaultdist_name_check, Other}});
               error -> enforce
           end,
    start(Mode).

-spec start(enforce | log) -> ok.
start(Mode) when Mode =:= enforce; Mode =:= log ->
    Parent = self(),
    Pid = proc_lib:spawn(fun() -> init(Parent, Mode) end),
    Ref = monitor(process, Pid),
    receive
        {Pid, started} -> demonitor(Ref, [flush]), ok;
        {Pid, already_started} -> demonitor(Ref, [flush]), ok;
        {'DOWN', Ref, process, Pid, Reason} -> erlang:error({vaultdist_name_check, Reason})
    end.

stop() ->
    case whereis(?NAME) of
        undefined -> ok;
        Pid -> Pid ! stop, ok
    end.

init(Parent, Mode) ->
    try register(?NAME, self()) of
        true ->
            ok = net_kernel:monitor_nodes(true, [{node_type, all}]),
            Parent ! {self(), started},
            logger:info("vaultdist_name_check: checking peer certificate identities (~p)", [Mode]),
            %% Nodes connected before the monitor was set up.
            [handle(N, Mode) || N <- nodes(connected)],
            loop(Mode)
    catch
        error:badarg -> Parent ! {self(), already_started}
    end.

loop(Mode) ->
    receive
        {nodeup, Node, _Info} -> handle(Node, Mode), loop(Mode);
        {nodedown, _Node, _Info} -> loop(Mode);
        stop -> ok;
        _ -> loop(Mode)
    end.

handle(Node, Mode) ->
    case check(Node) of
        ok ->
            ok;
        {mismatch, Got} ->
            logger:warning("vaultdist_name_check: ~p presented a certificate for ~tp, not for its node name; ~s",
                           [Node, Got, action(Mode)]),
            act(Node, Mode);
        {error, Reason} ->
            logger:warning("vaultdist_name_check: cannot check the certificate of ~p (~p); ~s",
                           [Node, Reason, action(Mode)]),
            act(Node, Mode)
    end.

action(enforce) -> "disconnecting";
action(log) -> "not disconnecting (log mode)".

act(Node, enforce) -> erlang:disconnect_node(Node);
act(_Node, log) -> ok.

%% @doc Whether the live connection to Node carries a certificate whose URI SAN is `erlang://Node`.
-spec check(node()) -> ok | {mismatch, [string()]} | {error, term()}.
check(Node) ->
    case peer_identities(Node) of
        {ok, Uris} ->
            Want = "erlang://" ++ atom_to_list(Node),
            case lists:member(Want, Uris) of
                true -> ok;
                false -> {mismatch, Uris}
            end;
        Error ->
            Error
    end.

%% @doc The `erlang://` URI SANs of the certificate Node presented on the live dist connection.
-spec peer_identities(node()) -> {ok, [string()]} | {error, term()}.
peer_identities(Node) ->
    try
        Ctrl = case lists:keyfind(Node, 1, erlang:system_info(dist_ctrl)) of
                   {_, C} -> C;
                   false -> throw(not_connected)
               end,
        is_pid(Ctrl) orelse throw(not_tls_distribution),
        {ok, Sock} = tls_sender:dist_tls_socket(Ctrl),
        Der = case ssl:peercert(Sock) of
                  {ok, D} -> D;
                  {error, R} -> throw({peercert, R})
              end,
        Cert = public_key:pkix_decode_cert(Der, otp),
        {ok, [U || U <- uri_sans(Cert), lists:prefix("erlang://", U)]}
    catch
        throw:Why -> {error, Why};
        Class:Why -> {error, {Class, Why}}
    end.

uri_sans(Cert) ->
    %% #'OTPCertificate'{tbsCertificate = #'OTPTBSCertificate'{extensions = Exts}}
    Tbs = element(2, Cert),
    Exts = case element(11, Tbs) of asn1_NOVALUE -> []; E -> E end,
    lists:append([[to_string(V) || {uniformResourceIdentifier, V} <- Names]
                  || {'Extension', {2, 5, 29, 17}, _Crit, Names} <- Exts]).

to_string(V) when is_binary(V) -> binary_to_list(V);
to_string(V) -> V.
