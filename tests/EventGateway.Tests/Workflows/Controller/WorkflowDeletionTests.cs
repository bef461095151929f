using EventGateway.Tests.Support;
using Shouldly;

namespace EventGateway.Tests.Workflows.Controller;

/// <summary>
/// A workflow deleted while its first step is being launched: the step must not outlive it, and the DELETE answers
/// 200. The controller's pass that decided to start the step can still be under way when the deletion arrives;
/// nothing stopped a step launched after that, and removing its directory raced the launch (a 500).
/// </summary>
public sealed class WorkflowDeletionTests
{
    [Fact]
    public async Task A_workflow_deleted_right_after_submit_leaves_no_running_step()
    {
        await using var serve = await ServeProcess.StartAsync();
        using var http = serve.CreateClient();
        // A marker only these steps carry on their command line, so the test finds exactly their processes.
        var marker = 7_000_000 + Random.Shared.Next(1_000_000);
        const int Workflows = 12;
        for (var i = 0; i < Workflows; i++)
        {
            var body = $$$$"""
                {"workflow": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"name": "gone-{{{{i}}}}"},
                  "spec": {"entrypoint": "main", "templates": [{"name": "main", "container": {"image": "busybox", "command": ["sleep", "{{{{marker + i}}}}"]}}]}}}
                """;
            (await http.PostAsync("api/v1/workflows/default", ServeProcess.Json(body))).EnsureSuccessStatusCode();
            (await http.DeleteAsync($"api/v1/workflows/default/gone-{i}")).EnsureSuccessStatusCode();
        }

        await Eventually.Get(() => Task.FromResult(StepsRunning(marker, Workflows) == 0 ? "gone" : null),
            "every step of the deleted workflows to end", TimeSpan.FromSeconds(30));
        (await http.GetStringAsync("api/v1/workflows/default")).ShouldContain("\"items\":[]");
    }

    /// <summary>Processes whose command line is `sleep N` for one of this test's markers.</summary>
    private static int StepsRunning(int marker, int count)
    {
        var wanted = Enumerable.Range(marker, count).Select(n => $"sleep\0{n}\0").ToHashSet(StringComparer.Ordinal);
        var running = 0;
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _)) continue;
            try
            {
                if (wanted.Contains(File.ReadAllText(Path.Combine(dir, "cmdline")))) running++;
            }
            catch (IOException) { } // the process ended meanwhile
            catch (UnauthorizedAccessException) { }
        }
        return running;
    }
}
