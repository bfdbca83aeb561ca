%% vaultdist_reload: make a running OTP node present rotated TLS distribution certificates.
%%
%% Why this exists (OTP 25, measured): the distribution reads its certificate, key and CA files through
%% a PEM cache of its own (`ssl_pem_cache_dist`). Replacing the files on disk changes nothing for new
%% connections until that cache is cleared; `ssl:clear_pem_cache/0` clears only the normal (non-dist)
%% cache. The built-in refresh runs every 120 s and misses files renamed into place with an old mtime.
%% So after the renewal agent swaps the files, something has to clear the dist cache explicitly:
%%
%%   reload/0          clears the dist PEM cache (and the normal one when the ssl app runs). New dist
%%                     connections then re-read cert, key and CA; existing connections are untouched.
%%   install_sighup/0  makes `kill -HUP <beam pid>` call reload/0. Without a handler, SIGHUP KILLS an
%%                     OTP node (the default disposition), so install this before anything may send HUP.
%%   start_poller/2    reloads when the CONTENT of the credential files changes (safety net; mtime is
%%                     not used because files renamed into place may carry an old mtime).
%%   write_pidfile/1   writes os:getpid() (the beam.smp pid the agent signals).
%%   start/0           for `-s vaultdist_reload start` at boot, configured by init arguments:
%%                       -vaultdist_sighup true        install the SIGHUP handler
%%                       -vaultdist_pidfile PATH       write the pidfile (after the handler is installed)
%%                       -vaultdist_poll F1,F2         start a content poller on these files
%%                       -vaultdist_poll_ms N          poll interval (default 1000)
%%                     From an Elixir application: call `:vaultdist_reload.start()` in start/2.
%%
%% Note: the cache clear uses the private message `{unconditionally_clear_pem_cache, Pid}` of
%% ssl_pem_cache (the same one ssl:clear_pem_cache/0 sends to the normal instance). Re-check it on OTP
%% upgrades.
-module(vaultdist_reload).
-behaviour(gen_event).

-export([reload/0, install_sighup/0, start_poller/2, write_pidfile/1, start/0]).
%% gen_event callbacks (the SIGHUP handler on erl_signal_server)
-export([init/1, handle_event/2, handle_call/2, handle_info/2, terminate/2, code_change/3]).

-define(HANDLER, {?MODULE, sighup}).
-define(DEFAULT_POLL_MS, 1000).

%%--------------------------------------------------------------------------------------------------
%% reload
%%--------------------------------------------------------------------------------------------------

%% @doc Clears the distribution PEM cache (and the normal one when the ssl application's cache runs).
%% Returns `{ok, #{dist => ok, ssl => ok | not_running}}`, or `{error, Reason}` when this node has no
%% TLS distribution (no `ssl_pem_cache_dist` process) or the clear call failed. Safe to call
%% repeatedly and concurrently: both caches are gen_servers that serialize the requests.
-spec reload() -> {ok, #{dist := ok, ssl := ok | not_running}} | {error, term()}.
reload() ->
    reload(api).

reload(Trigger) ->
    case clear_dist() of
        ok ->
            Ssl = clear_ssl(),
            logger:notice("vaultdist_reload: TLS distribution certificates reloaded (trigger ~p): "
                          "dist PEM cache cleared, ssl PEM cache ~p",
                          [Trigger, Ssl]),
            {ok, #{dist => ok, ssl => Ssl}};
        {error, Reason} = Err ->
            logger:error("vaultdist_reload: reload (trigger ~p) failed: ~p", [Trigger, Reason]),
            Err
    end.

clear_dist() ->
    case whereis(ssl_pem_cache_dist) of
        undefined ->
            {error, no_tls_distribution};
        _ ->
            try gen_server:call(ssl_pem_cache_dist, {unconditionally_clear_pem_cache, self()}, infinity) of
                ok -> ok;
                Other -> {error, {dist_pem_cache, Other}}
            catch
                exit:Reason -> {error, {dist_pem_cache, Reason}}
            end
    end.

clear_ssl() ->
    case whereis(ssl_pem_cache) of
        undefined ->
            not_running;
        _ ->
            %% The ssl app may be stopping between whereis/1 and the call: treat that as not running.
            try ssl:clear_pem_cache() of
                ok -> ok
            catch
                exit:_ -> not_running
            end
    end.

%%--------------------------------------------------------------------------------------------------
%% SIGHUP
%%--------------------------------------------------------------------------------------------------

%% @doc Installs the SIGHUP handler (idempotent): SIGHUP then spawns reload/0 instead of killing the
%% node. The gen_event handler is added before the signal is switched to `handle`, so there is no
%% window in which a HUP reaches the node unhandled once this returns.
-spec install_sighup() -> ok.
install_sighup() ->
    %% global:trans on this node only serializes concurrent installers (no duplicate handlers).
    Res = global:trans({{?MODULE, install_sighup}, self()},
                       fun() ->
                           case lists:member(?HANDLER, gen_event:which_handlers(erl_signal_server)) of
                               true -> ok;
                               false -> gen_event:add_handler(erl_signal_server, ?HANDLER, [])
                           end
                       end, [node()]),
    ok = Res,
    ok = os:set_signal(sighup, handle),
    logger:info("vaultdist_reload: SIGHUP handler installed (kill -HUP ~s reloads TLS certificates)",
                [os:getpid()]),
    ok.

init([]) -> {ok, #{}}.

handle_event(sighup, State) ->
    %% Never block the signal server; a crash in reload must not remove this handler.
    _ = spawn(fun() -> reload(sighup) end),
    {ok, State};
handle_event(_Other, State) ->
    {ok, State}.

handle_call(_Req, State) -> {ok, {error, unknown_call}, State}.
handle_info(_Msg, State) -> {ok, State}.
terminate(_Arg, _State) -> ok.
code_change(_Old, State, _Extra) -> {ok, State}.

%%--------------------------------------------------------------------------------------------------
%% content poller
%%--------------------------------------------------------------------------------------------------

%% @doc Starts a process (not linked to the caller, so it survives a boot-time `-s` caller) that
%% fingerprints the files' content every IntervalMs and calls reload/0 when it changes. While any file
%% is unreadable (e.g. mid-deployment) it waits instead of reloading.
-spec start_poller([file:filename_all()], pos_integer()) -> {ok, pid()}.
start_poller(Files, IntervalMs) when is_list(Files), Files =/= [], is_integer(IntervalMs), IntervalMs > 0 ->
    Pid = proc_lib:spawn(fun() ->
                                 Fp = fingerprint(Files),
                                 logger:info("vaultdist_reload: polling ~p every ~b ms", [Files, IntervalMs]),
                                 poll_loop(Files, IntervalMs, Fp)
                         end),
    {ok, Pid};
start_poller(Files, IntervalMs) ->
    erlang:error({badarg, {vaultdist_reload, start_poller, [Files, IntervalMs]}}).

poll_loop(Files, IntervalMs, Last) ->
    receive stop -> ok after IntervalMs -> ok end,
    case fingerprint(Files) of
        {ok, _} = Last ->
            poll_loop(Files, IntervalMs, Last);
        {ok, _} = New ->
            _ = reload(poll),
            poll_loop(Files, IntervalMs, New);
        {error, File, Reason} ->
            case Last of
                {error, File, Reason} -> ok;
                _ -> logger:warning("vaultdist_reload: cannot read ~ts (~p); not reloading until it is readable",
                                    [File, Reason])
            end,
            %% Keep the last good fingerprint so a read glitch alone never triggers a reload.
            Keep = case Last of {ok, _} -> Last; _ -> {error, File, Reason} end,
            poll_loop(Files, IntervalMs, Keep)
    end.

fingerprint(Files) ->
    fingerprint(Files, []).

fingerprint([], Acc) ->
    {ok, erlang:md5(lists:reverse(Acc))};
fingerprint([F | Rest], Acc) ->
    case file:read_file(F) of
        {ok, Bin} -> fingerprint(Rest, [<<(byte_size(Bin)):64>>, erlang:md5(Bin) | Acc]);
        {error, Reason} -> {error, F, Reason}
    end.

%%--------------------------------------------------------------------------------------------------
%% pidfile
%%--------------------------------------------------------------------------------------------------

%% @doc Writes os:getpid() to Path (temp file in the same directory, then rename). Returns
%% `{error, {pidfile, Path, Reason}}` when it cannot be written.
-spec write_pidfile(file:filename_all()) -> ok | {error, term()}.
write_pidfile(Path) ->
    Tmp = unicode:characters_to_list([Path, ".tmp.", os:getpid()]),
    case file:write_file(Tmp, [os:getpid(), $\n]) of
        ok ->
            case file:rename(Tmp, Path) of
                ok -> ok;
                {error, Reason} -> _ = file:delete(Tmp), {error, {pidfile, Path, Reason}}
            end;
        {error, Reason} ->
            {error, {pidfile, Path, Reason}}
    end.

%%--------------------------------------------------------------------------------------------------
%% boot entry
%%--------------------------------------------------------------------------------------------------

%% @doc Boot-time setup from init arguments (see the module header). Order: SIGHUP handler first, then
%% the pidfile (an agent that watches the pidfile must never signal a node without the handler), then
%% the poller. A bad argument stops the boot with an error naming the flag.
-spec start() -> ok.
start() ->
    Sighup = flag(vaultdist_sighup),
    Pidfile = flag(vaultdist_pidfile),
    Poll = flag(vaultdist_poll),
    PollMs = case flag(vaultdist_poll_ms) of
                 undefined -> ?DEFAULT_POLL_MS;
                 S -> positive_int(vaultdist_poll_ms, S)
             end,
    case Sighup of
        undefined -> ok;
        "true" -> ok = install_sighup();
        "false" -> ok;
        Bad -> bad_arg(vaultdist_sighup, Bad, "expected true or false")
    end,
    case Pidfile of
        undefined -> ok;
        "" -> bad_arg(vaultdist_pidfile, "", "expected a path");
        P ->
            case write_pidfile(P) of
                ok -> ok;
                {error, R} -> bad_arg(vaultdist_pidfile, P, io_lib:format("cannot write it: ~p", [R]))
            end
    end,
    case Poll of
        undefined -> ok;
        FilesS ->
            case [F || F <- string:split(FilesS, ",", all), F =/= ""] of
                [] -> bad_arg(vaultdist_poll, FilesS, "expected FILE1,FILE2");
                Files -> {ok, _} = start_poller(Files, PollMs)
            end
    end,
    ok.

flag(Name) ->
    case init:get_argument(Name) of
        {ok, [[V] | _]} -> V;
        {ok, [[] | _]} -> "";
        {ok, [[V | _] | _]} -> V;
        error -> undefined
    end.

positive_int(Name, S) ->
    try list_to_integer(S) of
        N when N > 0 -> N;
        _ -> bad_arg(Name, S, "expected a positive integer (milliseconds)")
    catch
        error:badarg -> bad_arg(Name, S, "expected a positive integer (milliseconds)")
    end.

bad_arg(Name, Value, Why) ->
    logger:error("vaultdist_reload: bad -~s ~tp: ~ts", [Name, Value, Why]),
    erlang:error({vaultdist_reload, {bad_init_arg, Name, Value, lists:flatten(Why)}}).
