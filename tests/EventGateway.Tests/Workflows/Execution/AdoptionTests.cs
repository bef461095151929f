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

    public void Dispose() => _dir.Delete(recursive: true);
}
