using System.Diagnostics;
using EventGateway.Model;

namespace EventGateway.Workflows.Controller;

/// <summary>
/// What the reconcile loop costs: passes, the wall time spent in them (operator pass plus status save) and the
/// step results they consumed. Cheap enough to keep always on; read by /metrics and the workflow benchmark.
/// </summary>
public sealed class ControllerMetrics : IWorkflowObserver
{
    private long _passes;
    private long _ticks;
    private long _results;
    private long _saves;
    private long _completed;

    internal void Pass(long startTimestamp, int results)
    {
        Interlocked.Increment(ref _passes);
        Interlocked.Add(ref _ticks, Stopwatch.GetTimestamp() - startTimestamp);
        Interlocked.Add(ref _results, results);
    }

    void IWorkflowObserver.StatusSaved(Workflow workflow) => Interlocked.Increment(ref _saves);

    void IWorkflowObserver.Completed(Workflow workflow) => Interlocked.Increment(ref _completed);

    public long Passes => Interlocked.Read(ref _passes);

    public double PassSeconds => (double)Interlocked.Read(ref _ticks) / Stopwatch.Frequency;

    /// <summary>Step state changes (started, finished) the passes took in.</summary>
    public long StepResults => Interlocked.Read(ref _results);

    public long StatusSaves => Interlocked.Read(ref _saves);

    /// <summary>Workflows this controller saw reach Succeeded, Failed or Error since it started.</summary>
    public long WorkflowsCompleted => Interlocked.Read(ref _completed);
}
