using EventGateway.Model;

namespace EventGateway.Cli.Output;

/// <summary>Polls a workflow until it completes, redrawing its tree when asked to watch on a terminal.</summary>
internal static class Watcher
{
    public static async Task<Workflow> UntilDoneAsync(ApiClient api, Workflow wf, bool show, CancellationToken ct)
    {
        var lastDrawn = 0;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(500));
        while (true)
        {
            var current = await api.GetAsync(wf.NamespaceOrDefault, wf.Name, ct) ?? throw new CliException($"workflow {wf.Name} was deleted");
            if (show)
            {
                var text = WorkflowPrinter.Summary(current, TimeProvider.System.GetUtcNow());
                // Redraw in place on a terminal; append when output is redirected.
                if (!Console.IsOutputRedirected && lastDrawn > 0) Console.Write($"\x1b[{lastDrawn}A\x1b[J");
                Console.Write(text);
                lastDrawn = text.Count(c => c == '\n');
            }
            if (current.Status?.IsCompleted == true) return current;
            await timer.WaitForNextTickAsync(ct);
        }
    }
}
