using System.Net.Http.Json;
using EventGateway.Model;
using EventGateway.Tests.Support;
using EventGateway.Tests.Workflows.Execution;
using EventGateway.Workflows.Execution;
using Shouldly;

namespace EventGateway.Tests.Security;

/// <summary>
/// Network namespaces recycled between workflows, with real steps: the next workflow gets the namespace, and
/// nothing of the previous one with it.
/// </summary>
public sealed class NetworkRecyclingTests
{
    private static string Step(string script) => $$"""
        apiVersion: argoproj.io/v1alpha1
        kind: Workflow
        metadata: {generateName: netns-}
        spec:
          entrypoint: main
          templates:
          - name: main
            script:
              image: debian
              command: [bash]
              source: |
        {{string.Join('\n', script.Split('\n').Select(l => "        " + l))}}
        """;

    private static async Task<(string Netns, string Out)> RunAsync(TestEngine t, string script)
    {
        var wf = await t.RunYamlAsync(Step("readlink /proc/self/ns/net\n" + script));
        var node = wf.Status!.Nodes!.Values.Single(n => n.Type == NodeType.Pod);
        wf.Status.Phase.ShouldBe(WorkflowPhase.Succeeded, $"{node.Message}: {t.Logs(wf, node, "stderr")}");
        var stdout = t.Logs(wf, node);
        return (stdout.Split('\n')[0], stdout);
    }

    private static WorkflowNetworks Networks(TestEngine t) => ((LocalProcessExecutor)t.Engine.Executor).Networks;

    private static async Task RecycledAsync(TestEngine t) =>
        await Eventually.Get(() => Task.FromResult(Networks(t).Pool.Idle == 1 ? "" : null), "the first workflow's namespace to be checked and recycled");

    [Fact]
    public async Task The_next_workflow_reuses_the_namespace_and_cannot_reach_a_listener_the_previous_one_left()
    {
        await using var t = await TestEngine.StartAsync();
        var (first, firstOut) = await RunAsync(t, """
            python3 -c 'import socket, time
            s = socket.socket(); s.bind(("127.0.0.1", 7777)); s.listen()
            time.sleep(600)' &
            for i in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/7777) 2>/dev/null && echo own-listener-up && break; sleep 0.05; done
            """);
        firstOut.ShouldContain("own-listener-up");
        await RecycledAsync(t);

        var (second, secondOut) = await RunAsync(t, """
            (exec 3<>/dev/tcp/127.0.0.1/7777) 2>/dev/null && echo reached-first || echo refused
            echo "tcp $(tail -n +2 /proc/net/tcp | wc -l) $(tail -n +2 /proc/net/tcp6 | wc -l)"
            """);

        second.ShouldBe(first); // the same namespace, recycled
        secondOut.ShouldContain("refused");
        secondOut.ShouldNotContain("reached-first");
        secondOut.ShouldContain("tcp 0 0"); // nothing of the first's connections either (TIME_WAIT is off)
    }

    [Fact]
    public async Task A_step_cannot_change_its_namespace_so_the_next_workflow_sees_it_as_it_was()
    {
        await using var t = await TestEngine.StartAsync();
        // Duplicate address detection flags (tentative, dadfailed) are the kernel's, changing by themselves over time: left out.
        const string config = "ip -o addr | sed -E 's/ (tentative|dadfailed|optimistic)//g'; ip route; ip -6 route; ip -o link | cut -d' ' -f2,3; cat /proc/sys/net/ipv4/ip_forward";
        var (first, firstOut) = await RunAsync(t, $"""
            {config}
            ip addr add 10.9.9.9/32 dev lo 2>/dev/null && echo changed-addr
            ip route add 10.8.0.0/16 dev lo 2>/dev/null && echo changed-route
            ip link set lo down 2>/dev/null && echo changed-link
            echo 1 > /proc/sys/net/ipv4/ip_forward 2>/dev/null && echo changed-sysctl
            exit 0
            """);
        firstOut.ShouldNotContain("changed-");
        await RecycledAsync(t);

        var (second, secondOut) = await RunAsync(t, config);

        second.ShouldBe(first);
        secondOut.Split('\n')[1..].ShouldBe(firstOut.Split('\n')[1..]);
        secondOut.ShouldNotContain("10.9.9.9");
        secondOut.ShouldNotContain("10.8.0.0");
    }

    [Fact]
    public async Task Concurrently_running_workflows_never_share_a_namespace()
    {
        await using var t = await TestEngine.StartAsync();
        // Each binds 127.0.0.1:8080 without SO_REUSEADDR while all others hold theirs: only possible in namespaces of their own.
        const string hold = """
            python3 -c 'import socket, time
            s = socket.socket(); s.bind(("127.0.0.1", 8080)); s.listen(); print("bound", flush=True)
            time.sleep(3)'
            """;
        for (var round = 0; round < 2; round++)
        {
            var runs = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => RunAsync(t, hold)));
            runs.ShouldAllBe(r => r.Out.Contains("bound")); // a shared namespace fails the second bind, and its workflow
            runs.Select(r => r.Netns).Distinct().Count().ShouldBeGreaterThan(1);
        }
    }

    [Fact]
    public async Task A_stopped_service_leaves_no_namespace_and_no_pasta_of_its_data_dir()
    {
        await using var serve = await ServeProcess.StartAsync();
        var prefix = new WorkflowNetworks(Path.GetFullPath(serve.DataDir)).Prefix;
        using var http = serve.CreateClient();
        var body = """
            {"workflow": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "once"},
              "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "debian", "command": ["true"]}}]}}}
            """;
        (await http.PostAsync("api/v1/workflows/default", ServeProcess.Json(body))).EnsureSuccessStatusCode();
        var done = await Eventually.Get(async () =>
            await http.GetFromJsonAsync<Workflow>("api/v1/workflows/default/once", EventGateway.Model.Manifests.Json.Lenient) is { Status.IsCompleted: true } w ? w : null,
            "the workflow to complete");
        done.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded, done.Status.Message);
        Directory.EnumerateFileSystemEntries("/run/netns", prefix + "*").ShouldNotBeEmpty(); // the pool is there while it serves

        (await serve.TerminateAsync(TimeSpan.FromSeconds(30))).ShouldNotBeNull();

        Directory.EnumerateFileSystemEntries("/run/netns", prefix + "*").ShouldBeEmpty();
        await Eventually.Get(() => Task.FromResult(WorkflowNetworksTests.Pastas(prefix).Count == 0 ? "" : null), "its pastas to quit");
    }
}
