using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using EventGateway.Model;
using EventGateway.Tests.Support;
using EventGateway.Workflows.Execution;
using Shouldly;

namespace EventGateway.Tests.Security;

/// <summary>
/// The tester's attacks on a step's host, run as real steps in real bubblewrap sandboxes of the default
/// configuration: each must be refused and leave the host as it was.
/// </summary>
public sealed class StepIsolationTests
{
    private static string Step(string name, string script, string extra = "") => $$"""
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {generateName: {{name}}-}
        spec:
          entrypoint: main
          templates:
          - name: main
        {{extra}}
            script:
              image: debian
              command: [bash]
              source: |
        {{string.Join('\n', script.Split('\n').Select(l => "        " + l))}}
        """;

    private static async Task<(Workflow Wf, NodeStatus Node, string Out, string Err)> RunAsync(TestEngine t, string script, string extra = "")
    {
        var wf = await t.RunYamlAsync(Step("attack", script, extra));
        var node = wf.Status!.Nodes!.Values.Single(n => n.Type == NodeType.Pod);
        return (wf, node, t.Logs(wf, node), t.Logs(wf, node, "stderr"));
    }

    [Fact]
    public async Task A_step_runs_as_an_unprivileged_uid_with_no_capabilities()
    {
        await using var t = await TestEngine.StartAsync();
        var (wf, _, stdout, _) = await RunAsync(t, "grep -E '^Cap(Eff|Prm|Bnd|Amb)' /proc/self/status; grep -E '^(Uid|Gid|NoNewPrivs)' /proc/self/status; id -u");

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        stdout.ShouldContain("CapEff:\t0000000000000000");
        stdout.ShouldContain("CapPrm:\t0000000000000000");
        stdout.ShouldContain("CapBnd:\t0000000000000000");
        stdout.ShouldContain("NoNewPrivs:\t1");
        var uid = int.Parse(stdout.Trim().Split('\n')[^1]);
        uid.ShouldBeGreaterThanOrEqualTo(StepUids.First);
    }

    [Fact]
    public async Task Remounting_a_read_only_host_directory_fails_and_nothing_appears_on_the_host()
    {
        var marker = $"egw-evil-{Guid.NewGuid():N}";
        await using var t = await TestEngine.StartAsync();
        var (wf, node, _, stderr) = await RunAsync(t, $"mount -o remount,rw,bind /usr && touch /usr/{marker}; mount -o remount,rw,bind /root; touch /root/{marker}; touch /usr/{marker}; mkdir -p /root && touch /root/{marker}; exit 0");

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, node.Message);
        stderr.ShouldContain("mount");
        File.Exists($"/usr/{marker}").ShouldBeFalse();
        File.Exists($"/root/{marker}").ShouldBeFalse();
    }

    [Fact]
    public async Task Host_secrets_the_data_dir_and_other_workflows_are_not_in_a_steps_view()
    {
        await using var t = await TestEngine.StartAsync();
        var first = await t.RunYamlAsync(Step("other", "echo other-workflow-secret > /tmp/mine; echo done"));
        first.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        var otherPods = Path.Combine(t.DataDir, "pods", first.NamespaceOrDefault, first.Name);
        Directory.Exists(otherPods).ShouldBeTrue();
        var db = Path.Combine(t.DataDir, "egw.db");
        File.Exists(db).ShouldBeTrue();

        // A step has its own empty /mnt, /srv and /media, as in a container image: what the host keeps there must not show.
        var hostMounts = new[] { "/srv", "/mnt", "/media" }.Where(Directory.Exists).SelectMany(Directory.EnumerateFileSystemEntries);
        var probes = new[] { "/etc/shadow", "/etc/gshadow", "/etc/ssl/private", "/root", "/root/.ssh", "/home", "/var", "/work", t.DataDir, db, otherPods, "/tmp/mine" }
            .Concat(hostMounts).ToArray();
        var (wf, _, stdout, _) = await RunAsync(t, string.Join('\n', probes.Select(p => $"if [ -e '{p}' ]; then echo 'present {p}'; cat '{p}' 2>/dev/null | head -c 100; fi")) + "\ncat /etc/passwd; echo end");

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        stdout.ShouldNotContain("present");
        stdout.ShouldNotContain("other-workflow-secret");
        stdout.ShouldContain("root:x:0:0");
        stdout.ShouldContain("end");
        stdout.Split('\n').Count(l => l.Contains(":x:", StringComparison.Ordinal)).ShouldBeLessThanOrEqualTo(3); // root, nobody, the step: no host users
    }

    [Fact]
    public async Task A_step_cannot_see_or_read_the_service_process()
    {
        await using var t = await TestEngine.StartAsync();
        var pid = Environment.ProcessId;
        var (wf, _, stdout, _) = await RunAsync(t, $"cat /proc/{pid}/environ && echo read-environ; ls /proc/{pid}/root/ && echo read-root; cat /proc/1/environ | tr '\\0' '\\n' | grep -c DOTNET_ ; ls /proc | grep -E '^[0-9]+$' | wc -l; exit 0");

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        stdout.ShouldNotContain("read-environ");
        stdout.ShouldNotContain("read-root");
        stdout.ShouldNotContain("DOTNET");
        var lines = stdout.Trim().Split('\n');
        int.Parse(lines[^1].Trim()).ShouldBeLessThan(10); // only the step's own processes
    }

    [Fact]
    public async Task A_step_cannot_reach_the_hosts_loopback_services()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        await using var t = await TestEngine.StartAsync();
        var (wf, _, stdout, _) = await RunAsync(t,
            $"curl -sS -m 3 http://127.0.0.1:{port}/ && echo reached-curl; (exec 3<>/dev/tcp/127.0.0.1/{port}) 2>/dev/null && echo reached-tcp; ip -o link 2>/dev/null | wc -l; exit 0");

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        stdout.ShouldNotContain("reached");
        listener.Pending().ShouldBeFalse();
    }

    [Fact]
    public async Task Steps_of_one_workflow_share_a_network_that_another_workflow_does_not()
    {
        // Both workflows bind 127.0.0.1:8080 at once: that works only if each has a namespace of its own;
        // within each, the client step reaches its sibling server.
        const string pair = """
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: pair-}
            spec:
              entrypoint: main
              templates:
              - name: main
                dag:
                  tasks:
                  - {name: server, template: server}
                  - {name: client, template: client}
              - name: server
                script:
                  image: python
                  command: [python3]
                  source: |
                    import http.server
                    s = http.server.HTTPServer(("127.0.0.1", 8080), http.server.SimpleHTTPRequestHandler)
                    print("listening", flush=True)
                    s.timeout = 120
                    s.handle_request()
              - name: client
                script:
                  image: debian
                  command: [bash]
                  source: |
                    for i in $(seq 600); do curl -sf -o /dev/null http://127.0.0.1:8080/ && echo reached && exit 0; sleep 0.1; done; exit 1
            """;
        await using var t = await TestEngine.StartAsync();
        var runs = await Task.WhenAll(t.RunYamlAsync(pair), t.RunYamlAsync(pair));

        foreach (var wf in runs)
        {
            wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, string.Join("; ", wf.Status.Nodes!.Values.Select(n => $"{n.DisplayName}={n.Phase} {n.Message}")));
            t.Logs(wf, TestEngine.Node(wf, "client")).ShouldBe("reached\n");
        }
    }

    [Fact]
    public async Task A_fork_bomb_stops_at_the_process_limit()
    {
        await using var t = await TestEngine.StartAsync(configure: o => o.StepLimits = o.StepLimits with { Pids = 40 });
        var (wf, node, _, _) = await RunAsync(t, "for i in $(seq 200); do sleep 60 & done; wait");

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        node.Message.ShouldNotBeNull().ShouldContain("process limit (40");
    }

    [Fact]
    public async Task Allocating_2GiB_fails_under_a_256Mi_memory_limit()
    {
        const string yaml = """
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: memory-}
            spec:
              entrypoint: main
              templates:
              - name: main
                script:
                  image: python
                  command: [python3]
                  resources: {limits: {memory: 256Mi, cpu: 500m}}
                  source: |
                    b = bytearray(2 * 1024 ** 3)
                    print("allocated")
            """;
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync(yaml);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        var node = wf.Status.Nodes!.Values.Single(n => n.Type == NodeType.Pod);
        node.Message.ShouldNotBeNull().ShouldContain("memory limit (256Mi");
        t.Logs(wf, node).ShouldNotContain("allocated");
        t.Logs(wf, node, "stderr").ShouldContain("MemoryError");
    }

    [Theory]
    [InlineData("runAsUser: 1234, runAsGroup: 5678", "1234", "5678")]
    [InlineData("runAsUser: 0", "0", "2000000")]
    public async Task RunAsUser_is_the_uid_inside_the_steps_user_namespace_and_grants_nothing_on_the_host(string securityContext, string uid, string gid)
    {
        var marker = $"egw-runas-{Guid.NewGuid():N}";
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync($$"""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {generateName: runas-}
            spec:
              entrypoint: main
              templates:
              - name: main
                script:
                  image: debian
                  command: [bash]
                  securityContext: { {{securityContext}} }
                  source: |
                    id -u; id -g; grep CapEff /proc/self/status
                    cat /etc/shadow && echo read-shadow
                    touch /usr/{{marker}} && echo wrote-usr
                    echo mine > /tmp/mine && cat /tmp/mine
                    exit 0
            """);

        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, wf.Status.Message);
        var node = wf.Status.Nodes!.Values.Single(n => n.Type == NodeType.Pod);
        var lines = t.Logs(wf, node).Split('\n');
        lines[0].ShouldBe(uid);
        lines[1].ShouldBe(gid);
        lines[2].ShouldBe("CapEff:\t0000000000000000");
        t.Logs(wf, node).ShouldNotContain("read-shadow");
        t.Logs(wf, node).ShouldNotContain("wrote-usr");
        t.Logs(wf, node).ShouldContain("mine");
        File.Exists($"/usr/{marker}").ShouldBeFalse();
    }

    [Fact]
    public async Task A_step_of_egw_serve_cannot_call_its_api_on_the_hosts_loopback()
    {
        await using var serve = await ServeProcess.StartAsync();
        using var http = serve.CreateClient();
        // Without -f, curl succeeds on any HTTP answer (a 401 included): "reached-api" means the API was reachable at all.
        var body = $$$$"""
            {"workflow": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "caller"},
              "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "curl", "command": ["sh", "-c",
                "curl -sS -m 3 -X POST -d '{}' http://127.0.0.1:{{{{serve.Port}}}}/api/v1/workflows/default && echo reached-api; exit 0"]}}]}}}
            """;
        (await http.PostAsync("api/v1/workflows/default", ServeProcess.Json(body))).EnsureSuccessStatusCode();

        var done = await Eventually.Get(async () =>
            await http.GetFromJsonAsync<Workflow>("api/v1/workflows/default/caller", EventGateway.Model.Manifests.Json.Lenient) is { Status.IsCompleted: true } w ? w : null,
            "the caller workflow to complete");
        done.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, done.Status.Message);
        var log = await http.GetStringAsync("api/v1/workflows/default/caller/log");
        log.ShouldNotContain("reached-api");
        var list = System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync("api/v1/workflows/default"))!["items"]!.AsArray();
        list.Select(w => (string?)w!["metadata"]!["name"]).ShouldBe(["caller"]); // no workflow was submitted from inside the step
    }

    [Fact]
    public async Task Under_egw_serve_a_step_reads_its_sandboxs_own_files_whatever_the_services_umask()
    {
        // egw serve runs with umask 077 (its data directory's files are 0600): the sandbox's /etc, /run/egw and /dev are
        // the step's to read all the same, or users, names, certificates and python stop working under serve only.
        await using var serve = await ServeProcess.StartAsync();
        using var http = serve.CreateClient();
        var python = File.Exists("/usr/bin/python3") ? "python -c 'print(\\\"py-ok\\\")'" : "echo py-ok";
        var body = $$$$"""
            {"workflow": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "reader"},
              "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "debian", "command": ["sh", "-c",
                "id -un; head -c 1 /etc/hosts >/dev/null && echo hosts-ok; ls /etc/ssl/certs >/dev/null && echo certs-ok; test -d /dev/pts && ls /dev/pts >/dev/null && echo pts-ok; {{{{python}}}}"]}}]}}}
            """;
        (await http.PostAsync("api/v1/workflows/default", ServeProcess.Json(body))).EnsureSuccessStatusCode();

        var done = await Eventually.Get(async () =>
            await http.GetFromJsonAsync<Workflow>("api/v1/workflows/default/reader", EventGateway.Model.Manifests.Json.Lenient) is { Status.IsCompleted: true } w ? w : null,
            "the reader workflow to complete");
        var log = await http.GetStringAsync("api/v1/workflows/default/reader/log");
        done.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, log);
        foreach (var line in new[] { "step", "hosts-ok", "certs-ok", "pts-ok", "py-ok" }) log.ShouldContain(line);
    }
}
