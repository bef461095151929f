using System.Diagnostics;
using EventGateway.Workflows.Execution;
using Microsoft.Extensions.Logging.Abstractions;
using Shouldly;

namespace EventGateway.Tests.Workflows.Execution;

/// <summary>
/// What a restarted service finds in a node directory decides between adopting, finishing and declaring lost. The
/// pid file alone is not enough after a reboot: the pid may belong to another process by then.
/// </summary>
public sealed class AdoptionTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("egw-adopt-");

    [Fact]
    public async Task A_live_process_that_is_not_the_nodes_launcher_is_not_adopted_and_the_step_is_lost()
    {
        using var stranger = Process.Start("sleep", "300");
        try
        {
            using var executor = new LocalProcessExecutor(_dir.FullName, 2, Sandbox.Detect(), TimeProvider.System, NullLogger<LocalProcessExecutor>.Instance);
            var key = new StepKey("default", "wf", "node-1");
            var node = Path.Combine(_dir.FullName, "pods", "default", "wf", "node-1");
            Directory.CreateDirectory(node);
            File.WriteAllText(Path.Combine(node, "pid"), stranger.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var spec = new StepSpec(key, "busybox", ["/bin/true"], null, new Dictionary<string, string>(), [], null);

            var outcome = await executor.RunAsync(spec, () => { }, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

            outcome.End.ShouldBe(StepEnd.Lost);
            stranger.HasExited.ShouldBeFalse(); // nothing was done to the stranger either
        }
        finally { stranger.Kill(); }
    }

    [Fact]
    public async Task A_step_running_across_a_restart_keeps_its_workflows_network_and_a_new_sibling_joins_it()
    {
        var sandbox = Sandbox.Detect();
        sandbox.Network.ShouldBe(StepNetwork.Isolated, sandbox.Unavailable); // the default, as root
        StepSpec Step(string node, string script) =>
            new(new StepKey("default", "wf", node), "busybox", ["sh", "-c", script], null, new Dictionary<string, string>(), [], null);
        string Stdout(string node) => File.ReadAllText(Path.Combine(_dir.FullName, "pods", "default", "wf", node, "stdout")).Trim();
        var daemon = Step("daemon", "readlink /proc/self/ns/net; exec sleep 300");

        var before = new LocalProcessExecutor(_dir.FullName, 4, sandbox, TimeProvider.System, NullLogger<LocalProcessExecutor>.Instance);
        using var stopWaiting = new CancellationTokenSource();
        var abandoned = before.RunAsync(daemon, () => { }, stopWaiting.Token);
        await Support.Eventually.Get(() => Task.FromResult(File.Exists(Path.Combine(_dir.FullName, "pods", "default", "wf", "daemon", "stdout")) && Stdout("daemon").Length > 0 ? "" : null), "the step to say its network");
        var network = Stdout("daemon");
        stopWaiting.Cancel(); // the service goes away; its step goes on
        await Should.ThrowAsync<OperationCanceledException>(abandoned);
        before.Dispose();

        using var after = new LocalProcessExecutor(_dir.FullName, 4, sandbox, TimeProvider.System, NullLogger<LocalProcessExecutor>.Instance);
        var adopted = after.RunAsync(daemon, () => { }, CancellationToken.None);
        var sibling = await after.RunAsync(Step("sibling", "readlink /proc/self/ns/net"), () => { }, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(60));
        after.Kill(daemon.Key);
        (await adopted.WaitAsync(TimeSpan.FromSeconds(60))).End.ShouldBe(StepEnd.Killed);

        sibling.End.ShouldBe(StepEnd.Exited);
        Stdout("sibling").ShouldBe(network); // the workflow's steps still reach each other on 127.0.0.1
    }

    public void Dispose() => _dir.Delete(recursive: true);
}
