using EventGateway.Tests.Support;
using Shouldly;
using EventGateway.Model;

namespace EventGateway.Tests.Workflows.Execution;

/// <summary>What a finished step leaves on disk: only what is read later (logs, exit code, start time), not its sandbox.</summary>
public sealed class FinishedStepFootprintTests
{
    /// <summary>The disk goal: beyond stdout and stderr, a finished step keeps less than this in its node directory.</summary>
    public const long FinishedStepBudget = 16 * 1024;

    /// <summary>What a directory costs in `du -sb` terms on ext4: one 4 KiB block, whatever it holds.</summary>
    private const long DirectoryBytes = 4096;

    [Fact]
    public async Task A_finished_one_step_workflow_keeps_under_16_KB_beyond_its_logs()
    {
        await using var t = await TestEngine.StartAsync();
        var wf = await t.RunYamlAsync("""
            apiVersion: argoproj.io/v1alpha1
            kind: Workflow
            metadata: {name: small}
            spec:
              entrypoint: main
              templates:
              - name: main
                container: {image: busybox, command: [sh, -c, "echo hello; echo oops >&2"]}
            """);
        wf.Status!.Phase.ShouldBe(WorkflowPhase.Succeeded);
        var dir = Path.Combine(t.DataDir, "pods", "default", "small", TestEngine.Node(wf, "small").Id);
        File.ReadAllText(Path.Combine(dir, "stdout")).ShouldBe("hello\n", "the logs stay");
        File.ReadAllText(Path.Combine(dir, "stderr")).ShouldBe("oops\n");

        var (total, entries) = Footprint(dir);
        total.ShouldBeLessThan(FinishedStepBudget, $"{dir} keeps {total} bytes beyond its logs:\n{string.Join("\n", entries)}");
    }

    /// <summary>Apparent bytes as `du -sb` counts them, without the top-level stdout and stderr: files' lengths, links' targets, a block per directory.</summary>
    private static (long Total, List<string> Entries) Footprint(string dir)
    {
        var entries = new List<string>();
        long total = DirectoryBytes;
        var pending = new Stack<DirectoryInfo>([new DirectoryInfo(dir)]);
        while (pending.TryPop(out var d))
            foreach (var e in d.EnumerateFileSystemInfos())
            {
                var relative = Path.GetRelativePath(dir, e.FullName);
                if (relative is "stdout" or "stderr") continue;
                long bytes = e.LinkTarget is { } target ? target.Length
                    : e is FileInfo f ? f.Length
                    : DirectoryBytes;
                if (e is DirectoryInfo sub && e.LinkTarget is null) pending.Push(sub);
                total += bytes;
                entries.Add($"{bytes,6} {relative}");
            }
        return (total, entries);
    }
}
