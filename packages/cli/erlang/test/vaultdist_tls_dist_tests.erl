%% EUnit: the carrier's pure checks: the node name in the first handshake message, and the URI SAN
%% / EKU / CA checks on a decoded leaf (records built here, no TLS).
-module(vaultdist_tls_dist_tests).
-include_lib("eunit/include/eunit.hrl").
-include_lib("public_key/include/public_key.hrl").

%% ---- first_message_name/1: send_name `N` (flags 8, creation 4, length 2, name) and old `n`

msg_n(Name) -> [$N | lists:duplicate(12, 0)] ++ [length(Name) div 256, length(Name) rem 256 | Name].

new_send_name_test() ->
    ?assertEqual({ok, "app@10.0.0.5"}, vaultdist_tls_dist:first_message_name(msg_n("app@10.0.0.5"))),
    ?assertEqual({ok, "app@h"}, vaultdist_tls_dist:first_message_name(list_to_binary(msg_n("app@h")))),
    %% trailing bytes beyond the declared length are not part of the name
    ?assertEqual({ok, "a@h"}, vaultdist_tls_dist:first_message_name(msg_n("a@h") ++ "junk")).

old_send_name_test() ->
    ?assertEqual({ok, "a@h"}, vaultdist_tls_dist:first_message_name([$n, 0, 6, 0, 0, 0, 0 | "a@h"])).

send_name_refusals_test() ->
    ?assertEqual({error, short_message},
                 vaultdist_tls_dist:first_message_name([$N | lists:duplicate(12, 0)] ++ [0, 10 | "a@h"])),
    %% dynamic-name request (host only) and malformed names
    [?assertMatch({error, {not_a_node_name, _}}, vaultdist_tls_dist:first_message_name(msg_n(N)))
     || N <- ["host.example", "@h", "a@", "a@b@c", ""]],
    ?assertEqual({error, not_a_send_name_message}, vaultdist_tls_dist:first_message_name("xyz")),
    ?assertEqual({error, not_a_send_name_message}, vaultdist_tls_dist:first_message_name(42)).

%% ---- check_leaf/1: URI SAN extraction on a decoded certificate

leaf(Exts) ->
    #'OTPCertificate'{tbsCertificate = #'OTPTBSCertificate'{extensions = Exts}}.
ext(Id, V) -> #'Extension'{extnID = Id, critical = false, extnValue = V}.
san(Names) -> ext(?'id-ce-subjectAltName', Names).
eku(Ids) -> ext(?'id-ce-extKeyUsage', Ids).
both() -> eku([?'id-kp-serverAuth', ?'id-kp-clientAuth']).
ca(Bool) -> ext(?'id-ce-basicConstraints', #'BasicConstraints'{cA = Bool}).

uri_san_test() ->
    ?assertEqual({ok, 'app@10.0.0.5'},
                 vaultdist_tls_dist:check_leaf(leaf([both(), san([{dNSName, "10.0.0.5"}, {uniformResourceIdentifier, "erlang://app@10.0.0.5"}])]))),
    %% other URI schemes are ignored; binaries are accepted
    ?assertEqual({ok, 'a@h'},
                 vaultdist_tls_dist:check_leaf(leaf([ca(false), both(), san([{uniformResourceIdentifier, "spiffe://x/y"}, {uniformResourceIdentifier, <<"erlang://a@h">>}])]))).

uri_san_refusals_test() ->
    ?assertEqual({error, no_node_uri_san}, vaultdist_tls_dist:check_leaf(leaf([both(), san([{dNSName, "h"}])]))),
    ?assertEqual({error, no_node_uri_san}, vaultdist_tls_dist:check_leaf(leaf([both()]))),
    ?assertMatch({error, {several_node_uri_sans, [_, _]}},
                 vaultdist_tls_dist:check_leaf(leaf([both(), san([{uniformResourceIdentifier, "erlang://a@h"}, {uniformResourceIdentifier, "erlang://b@h"}])]))),
    [?assertMatch({error, {bad_node_uri_san, _}},
                  vaultdist_tls_dist:check_leaf(leaf([both(), san([{uniformResourceIdentifier, "erlang://" ++ N}])])))
     || N <- ["h", "@h", "a@", "a@b@c"]].

eku_and_ca_refusals_test() ->
    S = san([{uniformResourceIdentifier, "erlang://a@h"}]),
    ?assertEqual({error, ca_certificate_as_leaf}, vaultdist_tls_dist:check_leaf(leaf([ca(true), both(), S]))),
    ?assertEqual({error, no_extended_key_usage}, vaultdist_tls_dist:check_leaf(leaf([S]))),
    ?assertEqual({error, no_extended_key_usage}, vaultdist_tls_dist:check_leaf(leaf(asn1_NOVALUE))),
    ?assertMatch({error, {extended_key_usage_lacks_server_and_client_auth, _}},
                 vaultdist_tls_dist:check_leaf(leaf([eku([?'id-kp-serverAuth']), S]))),
    ?assertMatch({error, {extended_key_usage_lacks_server_and_client_auth, _}},
                 vaultdist_tls_dist:check_leaf(leaf([eku([?'id-kp-clientAuth']), S]))).
