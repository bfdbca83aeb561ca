%% Test control channel for real BEAM nodes started by the vaultdist test harness.
%% Listens on 127.0.0.1:Port (-vd_ctl_port Port), {packet,4}; each request is an Erlang expression
%% (text, ending with "."), evaluated with erl_eval; the reply is "ok:" or "error:" followed by the
%% result printed with ~0tp. Test-only: never shipped, never started by vaultdist itself.
-module(vd_test_ctl).
-export([start/0, eval_string/1]).

start() ->
    {ok, [[PortS]]} = init:get_argument(vd_ctl_port),
    Port = list_to_integer(PortS),
    Parent = self(),
    spawn(fun() ->
        {ok, L} = gen_tcp:listen(Port, [binary, {packet, 4}, {active, false}, {reuseaddr, true}, {ip, {127,0,0,1}}]),
        Parent ! listening,
        accept_loop(L)
    end),
    receive listening -> ok after 5000 -> erlang:halt(3) end.

accept_loop(L) ->
    case gen_tcp:accept(L) of
        {ok, S} ->
            Pid = spawn(fun() -> receive go -> serve(S) end end),
            ok = gen_tcp:controlling_process(S, Pid),
            Pid ! go,
            accept_loop(L);
        {error, _} -> ok
    end.

serve(S) ->
    case gen_tcp:recv(S, 0) of
        {ok, Bin} ->
            Reply = eval_string(unicode:characters_to_list(Bin)),
            ok = gen_tcp:send(S, unicode:characters_to_binary(Reply)),
            serve(S);
        {error, _} -> ok
    end.

eval_string(Src) ->
    try
        {ok, Toks, _} = erl_scan:string(Src),
        {ok, Exprs} = erl_parse:parse_exprs(Toks),
        {value, V, _} = erl_eval:exprs(Exprs, erl_eval:new_bindings()),
        "ok:" ++ lists:flatten(io_lib:format("~0tp", [V]))
    catch C:R:St ->
        "error:" ++ lists:flatten(io_lib:format("~0tp", [{C, R, lists:sublist(St, 3)}]))
    end.
