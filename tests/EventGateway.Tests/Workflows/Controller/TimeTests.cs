using EventGateway.Tests.Support;
using Microsoft.Extensions.Time.Testing;
using Shouldly;
using EventGateway.Model;
using EventGateway.Server.Hosting;

namespace EventGateway.Tests.Workflows.Controller;

/// <summary>Deadlines, backoff and suspend durations, driven by a fake clock rather than by waiting.</summary>
public sealed class TimeTests
{
    private static readonly DateTimeOffset Epoch = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static async Task<(TestEngine Engine, Task<Workflow> Run)> Start(FakeTimeProvider time, string yaml)
    {
        var t = await TestEngine.StartAsync(time: time);
        var docs = ManifestReader.Read(yaml);
        var submitted = await t.Engine.SubmitAsync(docs.OfType<Workflow>().Single());
        return (t, t.Engine.WaitAsync(submitted, new CancellationTokenSource(TestEngine.Patience).Token));
    }

    /// <summary>Step directories whose stdout contains the text: proof a real process got that far.</summary>
    private static Task<string[]> StepsPrinting(TestEngine t, string text) =>
        Eventually.Get<string[]>(() => Task.FromResult<string[]?>(
            Directory.Exists(Path.Combine(t.DataDir, "pods"))
                ? Directory.GetFiles(Path.Combine(t.DataDir, "pods"), "stdout", SearchOption.AllDirectories)
                    .Where(f => File.ReadAllText(f).Contains(text, StringComparison.Ordinal)).Select(f => Path.GetDirectoryName(f)!).ToArray() is { Length: > 0 } found ? found : null
                : null), $"a step printing '{text}'");

    [Fact]
    public async Task Template_deadline_kills_the_whole_process_group_and_fails_the_step()
    {
        var time = new FakeTimeProvider(Epoch);
        var (t, run) = await Start(time, """
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: slow}
            spec:
              entrypoint: main
              templates:
              - name: main
                activeDeadlineSeconds: 30
                container: {image: busybox, command: [sh, -c, "sleep 300 & echo started; wait"]}
            """);
        await using var _ = t;
        var dir = (await StepsPrinting(t, "started")).Single();
        var pid = int.Parse(File.ReadAllText(Path.Combine(dir, "pid")));
        time.Advance(TimeSpan.FromSeconds(29));
        run.IsCompleted.ShouldBeFalse();
        time.Advance(TimeSpan.FromSeconds(2));
        var wf = await run;
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        var node = TestEngine.Node(wf, "slow");
        node.Phase.ShouldBe(NodePhase.Failed);
        node.Message.ShouldBe("Step exceeded its deadline");
        // The group leader and the backgrounded sleep are both gone (SIGKILL is delivered asynchronously: a killed
        // process may still be listed for a moment, so this observes the real processes until they are).
        await Eventually.Get(() => Task.FromResult(!Directory.Exists($"/proc/{pid}") && !ProcessesInGroup(pid).Any() ? "gone" : null),
            $"process group {pid} to be gone", TimeSpan.FromSeconds(10));
    }

    private static IEnumerable<int> ProcessesInGroup(int pgid) =>
        Directory.GetDirectories("/proc").Select(Path.GetFileName).Where(n => n!.All(char.IsAsciiDigit))
            .Select(n => (Pid: int.Parse(n!), Stat: TryRead($"/proc/{n}/stat")))
            .Where(p => p.Stat is { } s && s[(s.LastIndexOf(')') + 2)..].Split(' ') is var f && f.Length > 2 && f[2] == pgid.ToString() && f[0] != "Z")
            .Select(p => p.Pid);

    private static string? TryRead(string path)
    {
        try { return File.ReadAllText(path); }
        catch (IOException) { return null; }
    }

    [Fact]
    public async Task Workflow_deadline_fails_every_running_node()
    {
        var time = new FakeTimeProvider(Epoch);
        var (t, run) = await Start(time, """
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: wf-deadline}
            spec:
              entrypoint: main
              activeDeadlineSeconds: 60
              templates:
              - name: main
                steps:
                - - {name: a, template: long}
                  - {name: b, template: long}
              - name: long
                container: {image: busybox, command: [sh, -c, "echo started; sleep 300"]}
            """);
        await using var _ = t;
        await Eventually.Get(async () => (await StepsPrinting(t, "started")) is { Length: 2 } two ? two : null, "both steps started");
        time.Advance(TimeSpan.FromSeconds(61));
        var wf = await run;
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        wf.Status.Message.ShouldBe("Step exceeded its deadline");
        TestEngine.Node(wf, "a").Phase.ShouldBe(NodePhase.Failed);
        TestEngine.Node(wf, "b").Phase.ShouldBe(NodePhase.Failed);
        wf.Status.FinishedAt.ShouldBe(Epoch + TimeSpan.FromSeconds(61));
    }

    [Fact]
    public async Task Retry_waits_out_its_backoff_on_the_clock()
    {
        var time = new FakeTimeProvider(Epoch);
        var (t, run) = await Start(time, """
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: backoff}
            spec:
              entrypoint: main
              templates:
              - name: main
                retryStrategy: {limit: 2, backoff: {duration: "1h", factor: "2"}}
                container: {image: busybox, command: [sh, -c, "echo try; exit 1"]}
            """);
        await using var _ = t;
        await StepsPrinting(t, "try");
        // The first attempt failed; nothing else may start until the hour has passed.
        var waiting = await Eventually.Get(async () =>
            await t.Engine.Store.GetAsync<Workflow>("default", "backoff") is { } w && w.Status?.Nodes?.Values.Any(n => n.Message == "Backoff for 3600s") == true ? w : null,
            "the retry node to report its backoff", eachPoll: () => time.Advance(TimeSpan.FromMilliseconds(300)));
        waiting.Status!.Nodes!.Values.Count(n => n.Type == NodeType.Pod).ShouldBe(1);
        time.Advance(TimeSpan.FromHours(1));
        await Eventually.Get(async () => (await StepsPrinting(t, "try")) is { Length: 2 } two ? two : null, "the second attempt");
        // Only once the second failure has set up the next backoff: a timer created after the clock moved would never fire.
        await Eventually.Get(async () =>
            await t.Engine.Store.GetAsync<Workflow>("default", "backoff") is { } w && w.Status?.Nodes?.Values.Any(n => n.Message == "Backoff for 7200s") == true ? w : null,
            "the retry node to report its second backoff", eachPoll: () => time.Advance(TimeSpan.FromMilliseconds(300)));
        time.Advance(TimeSpan.FromHours(2));
        var wf = await run;
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Failed);
        var attempts = Enumerable.Range(0, 3).Select(i => TestEngine.Node(wf, $"backoff({i})")).ToList();
        (attempts[1].StartedAt - attempts[0].FinishedAt)!.Value.ShouldBeGreaterThanOrEqualTo(TimeSpan.FromHours(1));
        (attempts[2].StartedAt - attempts[1].FinishedAt)!.Value.ShouldBeGreaterThanOrEqualTo(TimeSpan.FromHours(2));
    }

    [Fact]
    public async Task Suspend_with_a_duration_resumes_when_the_clock_says_so()
    {
        var time = new FakeTimeProvider(Epoch);
        var (t, run) = await Start(time, """
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: pause}
            spec:
              entrypoint: main
              templates:
              - name: main
                steps:
                - - {name: wait, template: wait}
                - - {name: after, template: after}
              - name: wait
                suspend: {duration: "10m"}
              - name: after
                container: {image: busybox, command: [echo, resumed]}
            """);
        await using var _ = t;
        await Eventually.Get(async () =>
            await t.Engine.Store.GetAsync<Workflow>("default", "pause") is { Status.Nodes: { } nodes } w && nodes.Values.Any(n => n.Type == NodeType.Suspend) ? w : null,
            "the suspend node");
        time.Advance(TimeSpan.FromMinutes(9));
        run.IsCompleted.ShouldBeFalse();
        time.Advance(TimeSpan.FromMinutes(1));
        var wf = await run;
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        var suspend = TestEngine.Node(wf, "wait");
        (suspend.FinishedAt - suspend.StartedAt).ShouldBe(TimeSpan.FromMinutes(10));
        t.Logs(wf, TestEngine.Node(wf, "after")).ShouldContain("resumed");
    }
}
