%% Helpers for the plain-erl example: connect to a peer over TLS distribution and report what it
%% presented. Run with `erl -args_file DIR/vm.args -noshell -s example_peer check alice@127.0.0.1`.
-module(example_peer).
-export([check/1, peer_serial/1]).

%% Pings Peer, prints nodes() and the serial of the certificate Peer presented, then halts
%% (exit status 0 when connected, 1 when refused).
check([PeerArg]) ->
    Peer = list_to_atom(atom_to_list(PeerArg)),
    case net_adm:ping(Peer) of
        pong ->
            io:format("~s: ping ~s = pong, nodes() = ~p~n", [node(), Peer, nodes()]),
            io:format("~s: ~s presented certificate serial ~s~n", [node(), Peer, peer_serial(Peer)]),
            halt(0);
        pang ->
            io:format("~s: ping ~s = pang (refused)~n", [node(), Peer]),
            halt(1)
    end.

%% The serial (Vault format, aa:bb:...) of the certificate Peer presented on the live connection.
peer_serial(Peer) ->
    {_, Ctrl} = lists:keyfind(Peer, 1, erlang:system_info(dist_ctrl)),
    {ok, Sock} = tls_sender:dist_tls_socket(Ctrl),
    {ok, Der} = ssl:peercert(Sock),
    Serial = element(3, element(2, public_key:pkix_decode_cert(Der, otp))),
    Hex0 = string:lowercase(integer_to_list(Serial, 16)),
    Hex = case length(Hex0) rem 2 of 0 -> Hex0; 1 -> [$0 | Hex0] end,
    lists:flatten(lists:join(":", pairs(Hex))).

pairs([A, B | Rest]) -> [[A, B] | pairs(Rest)];
pairs([]) -> [].
