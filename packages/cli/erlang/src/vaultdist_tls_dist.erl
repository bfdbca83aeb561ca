%% vaultdist_tls_dist: TLS distribution that binds the peer's NODE NAME to its certificate.
%%
%% Use: `-proto_dist vaultdist_tls -ssl_dist_optfile FILE` with this module on the code path (the
%% optfile is the one `vaultdist` renders; `-ssl_dist_opt` flags are not read by the dialling side).
%%
%% What it adds to OTP's `inet_tls_dist` (which it delegates listen/accept/select/address/close to):
%% - Accepting side: its own accept path builds the handshake data (`#hs_data{}`) so that the FIRST
%%   distribution handshake message (the peer's name) is compared with the URI SAN
%%   `erlang://name@host` of the peer's certificate before `dist_util` goes on. A mismatch ends the
%%   connection there: no challenge, no nodeup, not one message delivered. The handshake's `allowed`
%%   list is set to exactly that node as a second, independent check in `dist_util`.
%% - Dialling side: the server's certificate must carry `erlang://<the node dialled>`; checked right
%%   after the TLS handshake, before any distribution message is sent.
%% - Both sides: the peer leaf must have exactly one `erlang://` URI SAN, an extended key usage with
%%   serverAuth AND clientAuth, and must not be a CA certificate (basicConstraints CA:TRUE).
%% - Both sides: trust narrowed to the issuing CA(s). The optfile's cacertfile (ca.pem) holds the
%%   issuing intermediate(s) and the root they chain to (OTP validates the path and the CRLs up to the
%%   root); the leaf must in addition be SIGNED BY one of the intermediates in ca.pem, so a certificate
%%   from another intermediate under the same root is refused. A ca.pem without intermediates (a root
%%   that issues directly) pins nothing more than TLS does.
%% - Every refusal is logged (warning) with the claimed and the certified name.
%% - One documented role besides "name = certificate": the node's OWN tooling. A peer presenting this
%%   node's own certificate (so it holds this node's key: root or the node user on this host) may
%%   connect as a HIDDEN node named `rpc-TAG-<this node>` or `rem-TAG-<this node>`, which is how an
%%   Elixir release's `bin/app rpc|remote|stop|pid` and the agent's rpc reload name themselves. Any
%%   other name under the node's own certificate, or a visible node, is refused like any impostor.
%%
%% There is no process, no registered name and no runtime switch: nothing a connected peer could stop
%% or reconfigure. The checks cannot be turned off except by not using the carrier.
%%
%% OTP internals used (re-check on every OTP upgrade; tested on OTP 25 and OTP 27):
%% `#hs_data{}` (kernel/include/dist_util.hrl), `tls_sender:dist_tls_socket/1` (OTP 25: accept gets
%% the sender pid), the `#sslsocket{pid = [Receiver, Sender | _]}` shape (OTP 27: accept gets the
%% socket), `tls_sender:dist_handshake_complete/3`, the `ssl_dist_opts` ets table (optfile),
%% `inet_tcp_dist:fam_setup/4` + `merge_options/2,3` (OTP >= 26 dialling). The module refuses to run
%% on an OTP release other than the one it was compiled with.
-module(vaultdist_tls_dist).

-export([childspecs/0, listen/2, accept/1, accept_connection/5, setup/5, close/1, select/1,
         address/0, is_node_name/1]).
%% Helpers (tests, tooling).
-export([peer_identity/2, check_leaf/1, check_issuer/2, first_message_name/1]).

-include_lib("kernel/include/net_address.hrl").
-include_lib("kernel/include/dist.hrl").
-include_lib("kernel/include/dist_util.hrl").
-include_lib("public_key/include/public_key.hrl").
-include_lib("kernel/include/logger.hrl").

%% ssl/src/ssl_api.hrl (not installed with erlang-base); the same on OTP 25 and 27.
-record(sslsocket, {fd = nil, pid = nil}).

-if(?OTP_RELEASE < 25).
-error("vaultdist_tls_dist needs OTP 25 or later").
-endif.

-define(URI_PREFIX, "erlang://").

%% ------------------------------------------------------------------------------------------------
%% Delegated to inet_tls_dist

childspecs() -> inet_tls_dist:childspecs().
select(Node) -> inet_tls_dist:select(Node).
address() -> inet_tls_dist:address().
is_node_name(Node) -> inet_tls_dist:is_node_name(Node).
close(Socket) -> inet_tls_dist:close(Socket).

listen(Name, Host) ->
    case release_check() of
        ok -> inet_tls_dist:listen(Name, Host);
        Error -> Error
    end.

accept(Listen) -> inet_tls_dist:accept(Listen).

release_check() ->
    Running = erlang:system_info(otp_release),
    case integer_to_list(?OTP_RELEASE) of
        Running ->
            ok;
        Compiled ->
            ?LOG_ERROR("vaultdist_tls: compiled for OTP ~s but running on OTP ~s; re-run "
                       "vaultdist init node (it installs the build for this release) or recompile "
                       "vaultdist_tls_dist.erl with this OTP's erlc (it uses OTP-internal records)",
                       [Compiled, Running]),
            {error, {vaultdist_tls, {compiled_for_otp, Compiled, running, Running}}}
    end.

%% ------------------------------------------------------------------------------------------------
%% Accepting side

accept_connection(AcceptPid, DistCtrl, MyNode, Allowed, SetupTime) ->
    Kernel = self(),
    spawn_opt(fun() -> do_accept(AcceptPid, DistCtrl, MyNode, Allowed, SetupTime, Kernel) end,
              dist_util:net_ticker_spawn_options()).

do_accept(AcceptPid, DistArg, MyNode, Allowed, SetupTime, Kernel) ->
    MRef = erlang:monitor(process, AcceptPid),
    receive
        {AcceptPid, controller} ->
            erlang:demonitor(MRef, [flush]),
            release_check() =:= ok orelse ?shutdown2(MyNode, {vaultdist_tls, otp_release_mismatch}),
            Timer = dist_util:start_timer(SetupTime),
            {SslSocket, DistCtrl} = dist_socket(DistArg, MyNode),
            link(DistCtrl),
            Peer = peer_string(SslSocket),
            CertNode =
                case peer_identity(SslSocket, server) of
                    {ok, N} ->
                        N;
                    {error, Why} ->
                        ?LOG_WARNING("vaultdist_tls: refused connection from ~s before the "
                                     "distribution handshake: ~p", [Peer, Why]),
                        ?shutdown2(no_node, {vaultdist_tls, Why})
                end,
            %% An operator allow-list (net_kernel:allow/1) still applies, to the certified name.
            Allowed =:= [] orelse dist_util:is_allowed(CertNode, Allowed) orelse
                begin
                    ?LOG_WARNING("vaultdist_tls: refused ~s from ~s: not in net_kernel:allow/1",
                                 [CertNode, Peer]),
                    ?shutdown2(CertNode, {vaultdist_tls, not_allowed})
                end,
            HSData0 = hs_data(SslSocket, DistCtrl),
            HSData = HSData0#hs_data{kernel_pid = Kernel,
                                     this_node = MyNode,
                                     socket = DistCtrl,
                                     timer = Timer,
                                     this_flags = 0,
                                     %% dist_util's own exact-name check, independent of ours (own
                                     %% tooling: this host only; name_checking_recv enforces the form)
                                     allowed = case CertNode =:= MyNode of
                                                   true -> [host_of(MyNode)];
                                                   false -> [CertNode]
                                               end,
                                     f_recv = name_checking_recv(SslSocket, CertNode, MyNode, Peer)},
            dist_util:handshake_other_started(HSData);
        {AcceptPid, exit} ->
            ?shutdown2(MyNode, connection_setup_failed);
        {'DOWN', MRef, _, _, _Reason} ->
            ?shutdown2(MyNode, connection_setup_failed)
    end.

%% OTP 25 hands accept_connection/5 the tls_sender pid; OTP 26+ the #sslsocket{} itself (or a port
%% with kTLS, which leaves no certificate to check: refused).
dist_socket(DistCtrl, _MyNode) when is_pid(DistCtrl) ->
    {ok, SslSocket} = tls_sender:dist_tls_socket(DistCtrl),
    {SslSocket, DistCtrl};
dist_socket(#sslsocket{pid = [_Receiver, Sender | _]} = SslSocket, _MyNode) ->
    {SslSocket, Sender};
dist_socket(Other, MyNode) ->
    ?LOG_WARNING("vaultdist_tls: refused a connection handed over as ~p (kTLS is not supported: "
                 "the peer certificate cannot be checked)", [Other]),
    ?shutdown2(MyNode, {vaultdist_tls, unsupported_dist_socket}).

host_of(Node) ->
    {node, _, Host} = dist_util:split_node(Node),
    Host.

%% f_recv that checks the first message dist_util reads (the peer's name) against the certificate.
name_checking_recv(SslSocket, CertNode, MyNode, Peer) ->
    Want = atom_to_list(CertNode),
    fun(_Ctrl, Length, Timeout) ->
            Result = f_recv(SslSocket, Length, Timeout),
            case get(vaultdist_tls_name_checked) of
                true ->
                    Result;
                _ ->
                    put(vaultdist_tls_name_checked, true),
                    Claimed = case Result of
                                  {ok, Data} -> first_message_name(Data);
                                  _ -> {error, Result}
                              end,
                    case Claimed of
                        {ok, Want} ->
                            Result;
                        {ok, Other} when CertNode =:= MyNode ->
                            case own_tooling(Other, MyNode, Result) of
                                true ->
                                    ?LOG_NOTICE("vaultdist_tls: ~s connects as hidden node ~ts with this "
                                                "node's own certificate (own tooling)", [Peer, Other]),
                                    Result;
                                false ->
                                    ?LOG_WARNING("vaultdist_tls: refused ~s before nodeup: claimed node ~ts, "
                                                 "certificate is for ~ts (this node's own; only hidden "
                                                 "rpc-TAG-~ts / rem-TAG-~ts may use it)",
                                                 [Peer, Other, Want, Want, Want]),
                                    ?shutdown2(CertNode, {vaultdist_tls, {name_mismatch, Other, CertNode}})
                            end;
                        {ok, Other} ->
                            ?LOG_WARNING("vaultdist_tls: refused ~s before nodeup: claimed node ~ts, "
                                         "certificate is for ~ts (URI SAN " ?URI_PREFIX "~ts)",
                                         [Peer, Other, Want, Want]),
                            ?shutdown2(CertNode, {vaultdist_tls, {name_mismatch, Other, CertNode}});
                        {error, Why} ->
                            ?LOG_WARNING("vaultdist_tls: refused ~s before nodeup: no node name in the "
                                         "first handshake message (~0p); certificate is for ~ts",
                                         [Peer, Why, Want]),
                            ?shutdown2(CertNode, {vaultdist_tls, {bad_first_message, Why}})
                    end
            end
    end.

%% The node's own tooling: hidden, named rpc-TAG-<node> or rem-TAG-<node> (TAG: letters, digits, _).
own_tooling(Claimed, MyNode, {ok, Data}) ->
    Suffix = "-" ++ atom_to_list(MyNode),
    Hidden = case first_message_flags(Data) of
                 {ok, Flags} -> Flags band ?DFLAG_PUBLISHED =:= 0;
                 _ -> false
             end,
    Hidden andalso lists:suffix(Suffix, Claimed) andalso
        case lists:sublist(Claimed, length(Claimed) - length(Suffix)) of
            [$r, $p, $c, $- | Tag] -> is_tag(Tag);
            [$r, $e, $m, $- | Tag] -> is_tag(Tag);
            _ -> false
        end;
own_tooling(_, _, _) ->
    false.

is_tag(Tag) ->
    Tag =/= [] andalso lists:all(fun(C) -> (C >= $0 andalso C =< $9) orelse (C >= $a andalso C =< $z)
                                               orelse (C >= $A andalso C =< $Z) orelse C =:= $_ end, Tag).

first_message_flags([$N, F7, F6, F5, F4, F3, F2, F1, F0 | _]) ->
    <<Flags:64>> = <<F7, F6, F5, F4, F3, F2, F1, F0>>,
    {ok, Flags};
first_message_flags([$n, _, _, F3, F2, F1, F0 | _]) ->
    <<Flags:32>> = <<F3, F2, F1, F0>>,
    {ok, Flags};
first_message_flags(_) ->
    error.

%% @doc The node name in a send_name message: `N` (flags 8, creation 4, name length 2, name) or the
%% old `n` (version 2, flags 4, name). A dynamic-name request (host only) has no `@` and is refused.
-spec first_message_name(term()) -> {ok, string()} | {error, term()}.
first_message_name([$N, _, _, _, _, _, _, _, _, _, _, _, _, L1, L0 | Rest]) ->
    Len = L1 * 256 + L0,
    case length(Rest) >= Len of
        true -> node_string(lists:sublist(Rest, Len));
        false -> {error, short_message}
    end;
first_message_name([$n, _, _, _, _, _, _ | Name]) ->
    node_string(Name);
first_message_name(Bin) when is_binary(Bin) ->
    first_message_name(binary_to_list(Bin));
first_message_name(_) ->
    {error, not_a_send_name_message}.

node_string(Name) ->
    case string:split(Name, "@", all) of
        [[_ | _], [_ | _]] -> {ok, Name};
        _ -> {error, {not_a_node_name, Name}}
    end.

%% ------------------------------------------------------------------------------------------------
%% Dialling side

setup(Node, Type, MyNode, LongOrShortNames, SetupTime) ->
    Kernel = self(),
    spawn_opt(fun() -> do_setup(Kernel, Node, Type, MyNode, LongOrShortNames, SetupTime) end,
              dist_util:net_ticker_spawn_options()).

%% The server's certificate must name the node we dialled, before any distribution message.
check_server(SslSocket, Node) ->
    Peer = peer_string(SslSocket),
    case peer_identity(SslSocket, client) of
        {ok, Node} ->
            ok;
        {ok, Other} ->
            ?LOG_WARNING("vaultdist_tls: refused server ~s when dialling ~ts: certificate is for ~ts",
                         [Peer, Node, Other]),
            _ = ssl:close(SslSocket),
            ?shutdown2(Node, {vaultdist_tls, {name_mismatch, Node, Other}});
        {error, Why} ->
            ?LOG_WARNING("vaultdist_tls: refused server ~s when dialling ~ts: ~p", [Peer, Node, Why]),
            _ = ssl:close(SslSocket),
            ?shutdown2(Node, {vaultdist_tls, Why})
    end.

-if(?OTP_RELEASE >= 26).
do_setup(Kernel, Node, Type, MyNode, LongOrShortNames, SetupTime) ->
    release_check() =:= ok orelse ?shutdown2(Node, {vaultdist_tls, otp_release_mismatch}),
    Timer = dist_util:start_timer(SetupTime),
    ParseAddress = fun(A) -> inet:parse_strict_address(A, inet) end,
    {#net_address{host = Host, address = {Ip, PortNum}}, ConnectOptions, Version} =
        inet_tcp_dist:fam_setup(inet, Node, LongOrShortNames, ParseAddress),
    Opts = inet_tcp_dist:merge_options(
             inet_tcp_dist:merge_options(ConnectOptions, get_ssl_options(client, Node)),
             [inet, binary, {active, false}, {packet, 4}, {read_ahead, false}, {nodelay, true}],
             [{server_name_indication, Host}]),
    proplists:get_value(ktls, Opts, false) =:= true andalso
        ?shutdown2(Node, {vaultdist_tls, ktls_not_supported}),
    dist_util:reset_timer(Timer),
    case ssl:connect(Ip, PortNum, Opts, net_kernel:connecttime()) of
        {ok, #sslsocket{pid = [_Receiver, Sender | _]} = SslSocket} ->
            check_server(SslSocket, Node),
            ok = ssl:controlling_process(SslSocket, self()),
            link(Sender),
            HSData0 = hs_data(SslSocket, Sender),
            dist_util:handshake_we_started(
              HSData0#hs_data{kernel_pid = Kernel, other_node = Node, this_node = MyNode,
                              socket = Sender, timer = Timer, this_flags = 0,
                              other_version = Version, request_type = Type});
        Other ->
            ?shutdown2(Node, {ssl_connect_failed, Ip, PortNum, Other})
    end.
-else.
do_setup(Kernel, Node, Type, MyNode, LongOrShortNames, SetupTime) ->
    release_check() =:= ok orelse ?shutdown2(Node, {vaultdist_tls, otp_release_mismatch}),
    {Name, Address} = split_node(Node, LongOrShortNames),
    ErlEpmd = net_kernel:epmd_module(),
    {ARMod, ARFun} = case erlang:function_exported(ErlEpmd, address_please, 3) of
                         true -> {ErlEpmd, address_please};
                         _ -> {erl_epmd, address_please}
                     end,
    Timer = dist_util:start_timer(SetupTime),
    case ARMod:ARFun(Name, Address, inet) of
        {ok, Ip, TcpPort, Version} ->
            do_setup_connect(Kernel, Node, Address, Ip, TcpPort, Version, Type, MyNode, Timer);
        {ok, Ip} ->
            case ErlEpmd:port_please(Name, Ip) of
                {port, TcpPort, Version} ->
                    do_setup_connect(Kernel, Node, Address, Ip, TcpPort, Version, Type, MyNode, Timer);
                Other ->
                    ?shutdown2(Node, {port_please_failed, ErlEpmd, Name, Ip, Other})
            end;
        Other ->
            ?shutdown2(Node, {getaddr_failed, inet_tcp, Address, Other})
    end.

do_setup_connect(Kernel, Node, Address, Ip, TcpPort, Version, Type, MyNode, Timer) ->
    Opts = connect_options(get_ssl_options(client, Node)),
    dist_util:reset_timer(Timer),
    case ssl:connect(Ip, TcpPort,
                     [binary, {active, false}, {packet, 4}, {server_name_indication, Address},
                      inet, {nodelay, true}] ++ Opts,
                     net_kernel:connecttime()) of
        {ok, #sslsocket{pid = [_, DistCtrl | _]} = SslSocket} ->
            check_server(SslSocket, Node),
            ok = ssl:controlling_process(SslSocket, self()),
            HSData0 = hs_data(SslSocket, DistCtrl),
            link(DistCtrl),
            dist_util:handshake_we_started(
              HSData0#hs_data{kernel_pid = Kernel, other_node = Node, this_node = MyNode,
                              socket = DistCtrl, timer = Timer, this_flags = 0,
                              other_version = Version, request_type = Type});
        Other ->
            ?shutdown2(Node, {ssl_connect_failed, Ip, TcpPort, Other})
    end.

connect_options(Opts) ->
    case application:get_env(kernel, inet_dist_connect_options) of
        {ok, ConnectOpts} -> lists:ukeysort(1, ConnectOpts ++ Opts);
        _ -> Opts
    end.

split_node(Node, LongOrShortNames) ->
    case dist_util:split_node(Node) of
        {node, Name, Host} ->
            case {string:split(Host, ".", all), LongOrShortNames} of
                {[_], longnames} ->
                    case inet:parse_address(Host) of
                        {ok, _} -> {Name, Host};
                        _ -> ?shutdown2(Node, {not_longnames, Host})
                    end;
                {[_, _ | _], shortnames} ->
                    ?shutdown2(Node, {not_shortnames, Host});
                _ ->
                    {Name, Host}
            end;
        _ ->
            ?shutdown2(Node, {illegal_node_name, Node})
    end.
-endif.

%% The dialling side's TLS options, composed as inet_tls_dist composes them: OTP 25 takes the optfile
%% (the ssl_dist_opts table ssl_dist_sup fills from -ssl_dist_optfile) and else the -ssl_dist_opt
%% flags; OTP 26+ merges the -ssl_dist_opt flags with the optfile.
get_ssl_options(Type, Node) ->
    FromFile = try ets:lookup(ssl_dist_opts, Type) of
                   [{Type, Opts0}] -> Opts0;
                   _ -> []
               catch
                   error:badarg -> []
               end,
    FromArgs = case init:get_argument(ssl_dist_opt) of
                   {ok, Args} -> ssl_options(Type, lists:append(Args));
                   _ -> []
               end,
    Opts = compose_opts(FromArgs, FromFile),
    Opts =:= [] andalso no_optfile(Node),
    [{erl_dist, true} |
     case proplists:get_value(versions, Opts) of
         undefined -> [{versions, ['tlsv1.2']} | Opts];
         _ -> Opts
     end].

-if(?OTP_RELEASE >= 26).
compose_opts(FromArgs, FromFile) -> FromArgs ++ FromFile.
cipher_opt(Value) -> {ciphers, [Value]}.
-else.
compose_opts(FromArgs, []) -> FromArgs;
compose_opts(_FromArgs, FromFile) -> FromFile.
cipher_opt(Value) -> {ciphers, Value}.
-endif.

-spec no_optfile(node()) -> no_return().
no_optfile(Node) ->
    ?LOG_ERROR("vaultdist_tls: no TLS options for distribution (-ssl_dist_optfile)"),
    ?shutdown2(Node, {vaultdist_tls, no_ssl_dist_optfile}).

%% -ssl_dist_opt client_<opt> <value>, as inet_tls_dist parses them. Only the dialling side's options
%% are composed here (the accepting side's are inet_tls_dist's), so server_<opt> flags are skipped.
ssl_options(_Type, []) ->
    [];
ssl_options(client, ["client_" ++ Opt, Value | T]) ->
    [ssl_option(Opt, Value) | ssl_options(client, T)];
ssl_options(Type, [_Opt, _Value | T]) ->
    ssl_options(Type, T);
ssl_options(_Type, [_]) ->
    [].

ssl_option(Opt, Value) when Opt =:= "certfile"; Opt =:= "cacertfile"; Opt =:= "keyfile";
                            Opt =:= "password"; Opt =:= "dhfile" ->
    {list_to_atom(Opt), Value};
ssl_option("ciphers", Value) -> cipher_opt(Value);
ssl_option("versions", Value) -> {versions, [list_to_atom(Value)]};
ssl_option(Opt, Value) when Opt =:= "depth"; Opt =:= "hibernate_after" ->
    {list_to_atom(Opt), list_to_integer(Value)};
ssl_option(Opt, Value) when Opt =:= "verify"; Opt =:= "crl_check"; Opt =:= "reuse_sessions";
                            Opt =:= "secure_renegotiate"; Opt =:= "fail_if_no_peer_cert";
                            Opt =:= "ktls" ->
    {list_to_atom(Opt), list_to_atom(Value)};
ssl_option("crl_cache", Value) ->
    {crl_cache, termify(Value)};
ssl_option("verify_fun", Value) ->
    case termify(Value) of
        {Mod, Func, State} when is_atom(Mod), is_atom(Func) -> {verify_fun, {fun Mod:Func/3, State}};
        _ -> error(malformed_ssl_dist_opt, [Value])
    end;
ssl_option(Opt, Value) ->
    error(malformed_ssl_dist_opt, [Opt, Value]).

termify(String) ->
    {ok, Tokens, _} = erl_scan:string(String ++ "."),
    {ok, Term} = erl_parse:parse_term(Tokens),
    Term.

%% ------------------------------------------------------------------------------------------------
%% Peer certificate checks

%% @doc The node named by the peer certificate of a TLS connection, after the leaf and issuer checks.
%% Side is this node's side of the connection (its optfile section names ca.pem).
-spec peer_identity(term(), server | client) -> {ok, node()} | {error, term()}.
peer_identity(SslSocket, Side) ->
    case ssl:peercert(SslSocket) of
        {ok, Der} ->
            try public_key:pkix_decode_cert(Der, otp) of
                Cert ->
                    case check_leaf(Cert) of
                        {ok, Node} ->
                            case check_issuer(Der, pinned_issuers(Side)) of
                                ok -> {ok, Node};
                                Error -> Error
                            end;
                        Error ->
                            Error
                    end
            catch
                _:Why -> {error, {bad_peer_certificate, Why}}
            end;
        {error, Why} ->
            {error, {no_peer_certificate, Why}}
    end.

%% @doc The leaf (DER) must be signed by one of the pinned issuing CAs (DER list); [] pins nothing.
-spec check_issuer(binary(), [binary()]) -> ok | {error, term()}.
check_issuer(_LeafDer, []) ->
    ok;
check_issuer(LeafDer, Issuers) ->
    case lists:any(fun(I) -> signed_by(LeafDer, I) end, Issuers) of
        true ->
            ok;
        false ->
            #'OTPCertificate'{tbsCertificate = #'OTPTBSCertificate'{issuer = Issuer}} =
                public_key:pkix_decode_cert(LeafDer, otp),
            {error, {not_issued_by_a_pinned_issuing_ca, issuer_cn(Issuer)}}
    end.

signed_by(LeafDer, IssuerDer) ->
    %% only the signature and the issuer name matter here (TLS validated the rest of the path)
    Accept = fun(_, {bad_cert, invalid_signature} = R, _) -> {fail, R};
                (_, {bad_cert, invalid_issuer} = R, _) -> {fail, R};
                (_, {bad_cert, _}, S) -> {valid, S};
                (_, {extension, _}, S) -> {valid, S};
                (_, _, S) -> {valid, S}
             end,
    case catch public_key:pkix_path_validation(IssuerDer, [LeafDer], [{verify_fun, {Accept, []}}]) of
        {ok, _} -> true;
        _ -> false
    end.

issuer_cn({rdnSequence, Rdns}) ->
    case [V || Rdn <- Rdns, #'AttributeTypeAndValue'{type = ?'id-at-commonName', value = V} <- Rdn] of
        [{_, Cn} | _] -> to_list(Cn);
        [Cn | _] when is_list(Cn); is_binary(Cn) -> to_list(Cn);
        _ -> Rdns
    end;
issuer_cn(Other) ->
    Other.

%% The intermediates (not self-signed) in this side's cacertfile, read at each handshake so a rotated
%% ca.pem applies without a restart.
pinned_issuers(Side) ->
    CaFile = try ets:lookup(ssl_dist_opts, Side) of
                 [{Side, Opts}] -> proplists:get_value(cacertfile, Opts);
                 _ -> undefined
             catch
                 error:badarg -> undefined
             end,
    case CaFile =/= undefined andalso file:read_file(CaFile) of
        {ok, Pem} ->
            [Der || {'Certificate', Der, not_encrypted} <- public_key:pem_decode(Pem),
                    not public_key:pkix_is_self_signed(Der)];
        _ ->
            []
    end.

%% @doc Checks a decoded (otp) leaf: not a CA, EKU with serverAuth and clientAuth, exactly one
%% `erlang://name@host` URI SAN. Returns that node name.
-spec check_leaf(#'OTPCertificate'{}) -> {ok, node()} | {error, term()}.
check_leaf(#'OTPCertificate'{tbsCertificate = #'OTPTBSCertificate'{extensions = Exts0}}) ->
    Exts = case Exts0 of asn1_NOVALUE -> []; _ -> Exts0 end,
    Ext = fun(Id) -> [V || #'Extension'{extnID = I, extnValue = V} <- Exts, I =:= Id] end,
    IsCa = lists:any(fun(#'BasicConstraints'{cA = CA}) -> CA =:= true; (_) -> false end,
                     Ext(?'id-ce-basicConstraints')),
    Eku = lists:append([U || U <- Ext(?'id-ce-extKeyUsage'), is_list(U)]),
    Uris = [to_list(U) || Names <- Ext(?'id-ce-subjectAltName'), is_list(Names),
                          {uniformResourceIdentifier, U} <- Names],
    NodeUris = [U || U <- Uris, lists:prefix(?URI_PREFIX, U)],
    if
        IsCa ->
            {error, ca_certificate_as_leaf};
        Eku =:= [] ->
            {error, no_extended_key_usage};
        true ->
            case {lists:member(?'id-kp-serverAuth', Eku), lists:member(?'id-kp-clientAuth', Eku)} of
                {true, true} -> node_from_uris(NodeUris);
                _ -> {error, {extended_key_usage_lacks_server_and_client_auth, Eku}}
            end
    end.

node_from_uris([]) ->
    {error, no_node_uri_san};
node_from_uris([?URI_PREFIX ++ Name]) ->
    case node_string(Name) of
        {ok, N} -> {ok, list_to_atom(N)};
        {error, Why} -> {error, {bad_node_uri_san, Why}}
    end;
node_from_uris(Several) ->
    {error, {several_node_uri_sans, Several}}.

to_list(V) when is_binary(V) -> binary_to_list(V);
to_list(V) when is_list(V) -> V.

%% ------------------------------------------------------------------------------------------------
%% Handshake data (as inet_tls_dist's, on both OTP lanes)

hs_data(SslSocket, DistCtrl) ->
    #hs_data{
       f_send = fun(_Ctrl, Packet) -> ssl:send(SslSocket, Packet) end,
       f_recv = fun(_, Length, Timeout) -> f_recv(SslSocket, Length, Timeout) end,
       f_setopts_pre_nodeup = fun(Ctrl) when Ctrl == DistCtrl -> ok end,
       f_setopts_post_nodeup = fun(Ctrl) when Ctrl == DistCtrl -> ssl:setopts(SslSocket, [nodelay()]) end,
       f_getll = fun(Ctrl) when Ctrl == DistCtrl -> {ok, DistCtrl} end,
       f_address = fun(Ctrl, Node) when Ctrl == DistCtrl -> f_address(SslSocket, Node) end,
       mf_tick = fun(Ctrl) when Ctrl == DistCtrl -> DistCtrl ! tick, ok end,
       mf_getstat = fun(Ctrl) when Ctrl == DistCtrl -> mf_getstat(SslSocket) end,
       mf_setopts = fun(Ctrl, Opts) when Ctrl == DistCtrl -> mf_setopts(SslSocket, Opts) end,
       mf_getopts = fun(Ctrl, Opts) when Ctrl == DistCtrl -> ssl:getopts(SslSocket, Opts) end,
       f_handshake_complete =
           fun(Ctrl, Node, DHandle) when Ctrl == DistCtrl ->
                   tls_sender:dist_handshake_complete(DistCtrl, Node, DHandle)
           end}.

f_recv(SslSocket, Length, Timeout) ->
    case ssl:recv(SslSocket, Length, Timeout) of
        {ok, Bin} when is_binary(Bin) -> {ok, binary_to_list(Bin)};
        Other -> Other
    end.

f_address(SslSocket, Node) ->
    case ssl:peername(SslSocket) of
        {ok, Address} ->
            case dist_util:split_node(Node) of
                {node, _, Host} ->
                    #net_address{address = Address, host = Host, protocol = tls, family = inet};
                _ ->
                    {error, no_node}
            end;
        Error ->
            Error
    end.

mf_getstat(SslSocket) ->
    case ssl:getstat(SslSocket, [recv_cnt, send_cnt, send_pend]) of
        {ok, Stat} ->
            {ok, proplists:get_value(recv_cnt, Stat, 0), proplists:get_value(send_cnt, Stat, 0),
             proplists:get_value(send_pend, Stat, 0)};
        Error ->
            Error
    end.

mf_setopts(SslSocket, Opts) ->
    case [O || {K, _} = O <- Opts, K =:= active orelse K =:= deliver orelse K =:= packet] of
        [] -> ssl:setopts(SslSocket, Opts);
        Bad -> {error, {badopts, Bad}}
    end.

nodelay() ->
    case application:get_env(kernel, dist_nodelay) of
        {ok, false} -> {nodelay, false};
        _ -> {nodelay, true}
    end.

peer_string(SslSocket) ->
    case ssl:peername(SslSocket) of
        {ok, {Ip, Port}} -> io_lib:format("~s:~w", [inet:ntoa(Ip), Port]);
        _ -> "unknown peer"
    end.
