%% Benchmark helpers for vaultdist's distribution benchmark (bench/dist.ts). Loaded on both nodes of a
%% pair with -pa; the driver node calls throughput/3 and rtt/3, which talk to processes on the peer.
%% Method as in the OTP 25 lab (facts doc §8): N binaries to a sink that acks after the N-th; the RTT
%% is the median of individually timed ping-pongs after a warm-up. Bench-only: never shipped.
-module(vd_bench).
-export([sink/0, echo/0, throughput/3, rtt/3, conn_info/1]).

%% Runs on the peer (spawned by the driver through rpc): counts N messages, then acks.
sink() ->
    receive
        {expect, From, N} -> recv_n(N), From ! {done, self()}, sink();
        stop -> ok
    end.

recv_n(0) -> ok;
recv_n(N) -> receive {d, _} -> recv_n(N - 1) end.

echo() ->
    receive
        {ping, From, Ref} -> From ! {pong, Ref}, echo();
        stop -> ok
    end.

%% Sends N binaries of Size bytes to a fresh sink on Peer; returns the elapsed microseconds from the
%% first send to the sink's ack (all N received).
throughput(Peer, Size, N) ->
    Sink = spawn(Peer, ?MODULE, sink, []),
    Bin = crypto:strong_rand_bytes(Size),
    %% Warm-up: make sure the connection is up and the code is loaded on both sides.
    Sink ! {expect, self(), 10},
    send_n(Sink, Bin, 10),
    receive {done, Sink} -> ok after 60000 -> exit(warmup_timeout) end,
    Sink ! {expect, self(), N},
    T0 = erlang:monotonic_time(microsecond),
    send_n(Sink, Bin, N),
    receive {done, Sink} -> ok after 600000 -> exit(timeout) end,
    T1 = erlang:monotonic_time(microsecond),
    Sink ! stop,
    T1 - T0.

send_n(_, _, 0) -> ok;
send_n(Pid, Bin, N) -> Pid ! {d, Bin}, send_n(Pid, Bin, N - 1).

%% Warm rounds, then N individually timed round trips; returns {MedianUs, P90Us, MinUs} (floats).
rtt(Peer, Warm, N) ->
    Echo = spawn(Peer, ?MODULE, echo, []),
    _ = [ping(Echo) || _ <- lists:seq(1, Warm)],
    Samples = lists:sort([ping(Echo) || _ <- lists:seq(1, N)]),
    Echo ! stop,
    {nth(0.5, Samples), nth(0.9, Samples), hd(Samples)}.

ping(Echo) ->
    Ref = make_ref(),
    T0 = erlang:monotonic_time(nanosecond),
    Echo ! {ping, self(), Ref},
    receive {pong, Ref} -> ok after 10000 -> exit(rtt_timeout) end,
    (erlang:monotonic_time(nanosecond) - T0) / 1000.

nth(Q, Sorted) -> lists:nth(max(1, round(Q * length(Sorted))), Sorted).

%% What the live dist connection to Peer is: tcp, or the negotiated TLS protocol and cipher.
conn_info(Peer) ->
    case [C || {N, C} <- erlang:system_info(dist_ctrl), N =:= Peer] of
        [Ctrl] when is_port(Ctrl) -> tcp;
        [Ctrl] when is_pid(Ctrl) ->
            {ok, S} = tls_sender:dist_tls_socket(Ctrl),
            {ok, I} = ssl:connection_information(S, [protocol, selected_cipher_suite]),
            Suite = proplists:get_value(selected_cipher_suite, I),
            {proplists:get_value(protocol, I), maps:get(cipher, Suite)};
        [] -> not_connected
    end.
