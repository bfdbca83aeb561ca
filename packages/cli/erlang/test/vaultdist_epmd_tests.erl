%% EUnit: the registry peers file as vaultdist_epmd (and vaultdist_cluster) read it.
%% Line format (written by the agent): `node NAME@HOST HOST PORT live|stale`.
-module(vaultdist_epmd_tests).
-include_lib("eunit/include/eunit.hrl").

with_file(Text, Fun) ->
    Path = filename:join(os:getenv("TMPDIR", "/tmp"),
                         "vaultdist-peers-eunit-" ++ integer_to_list(erlang:unique_integer([positive]))),
    ok = file:write_file(Path, unicode:characters_to_binary(Text)),
    try Fun(Path) after file:delete(Path) end.

read(Text) -> with_file(Text, fun vaultdist_epmd:read_peers/1).

live_and_stale_test() ->
    ?assertEqual([{"app@10.0.0.5", "10.0.0.5", 9100, live}, {"b_2-x@db.example", "db.example", 40001, stale}],
                 read("node app@10.0.0.5 10.0.0.5 9100 live\n"
                      "node b_2-x@db.example db.example 40001 stale\n")).

unknown_state_is_live_test() ->
    ?assertEqual([{"a@h", "h", 1, live}], read("node a@h h 1 whatever\n")).

blank_comment_and_crlf_lines_test() ->
    ?assertEqual([{"a@h", "h", 65535, live}],
                 read("\n# members of cluster c\ncluster c\r\nnode a@h h 65535 live\r\n\n")).

tabs_and_extra_fields_test() ->
    ?assertEqual([{"a@h", "h", 9, stale}], read("node\ta@h\th\t9\tstale\textra\n")).

bad_ports_dropped_test() ->
    ?assertEqual([], read("node a@h h 0 live\nnode a@h h 65536 live\nnode a@h h 9x live\n"
                          "node a@h h -1 live\nnode a@h h  live\n")).

%% Name checks: exactly one `@`, name part [A-Za-z0-9_-]+, host [A-Za-z0-9.-]+.
bad_names_dropped_test() ->
    Bad = ["a", "@h", "a@", "a@b@c", "a b@h", "a@h/x", "a@[::1]", "a.b@h", "ä@h", "a@h:1"],
    ?assertEqual([], read(lists:append(["node " ++ N ++ " h 9100 live\n" || N <- Bad]))),
    %% a bad line does not hide the good ones around it
    ?assertEqual([{"ok@h", "h", 2, live}], read("node a@b@c h 1 live\nnode ok@h h 2 live\n")).

not_utf8_line_dropped_test() ->
    %% a stray latin-1 byte: that line is skipped, the others are read
    Path = filename:join(os:getenv("TMPDIR", "/tmp"), "vaultdist-peers-eunit-latin1"),
    ok = file:write_file(Path, <<"node \xe4@h h 1 live\nnode ok@h h 2 live\n">>),
    try ?assertEqual([{"ok@h", "h", 2, live}], vaultdist_epmd:read_peers(Path))
    after file:delete(Path) end.

short_lines_dropped_test() ->
    ?assertEqual([], read("node a@h h 9100\nnode a@h\nnode\n")).

missing_file_is_empty_test() ->
    ?assertEqual([], vaultdist_epmd:read_peers("/nonexistent/vaultdist/peers")).
