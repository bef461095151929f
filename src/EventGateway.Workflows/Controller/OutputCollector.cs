using System.Globalization;
using System.Text;
using EventGateway.Model;
using EventGateway.Workflows.Artifacts;
using EventGateway.Workflows.Execution;

namespace EventGateway.Workflows.Controller;

/// <summary>Reads a finished step's outputs back from its sandbox: result, exit code, parameters, artifacts.</summary>
public sealed class OutputCollector(IStepExecutor executor, ArtifactStorage artifacts)
{
    /// <summary>Argo keeps at most this much of stdout as outputs.result.</summary>
    public const int MaxResultBytes = 256 * 1024;

    public async Task<PodResult> CollectAsync(Workflow wf, PodRequest pod, StepKey key, StepOutcome outcome, CancellationToken ct)
    {
        var (phase, message) = outcome.End switch
        {
            StepEnd.Exited when outcome.ExitCode == 0 => (NodePhase.Succeeded, (string?)null),
            StepEnd.Exited => (NodePhase.Failed, outcome.Message),
            StepEnd.DeadlineExceeded => (NodePhase.Failed, outcome.Message),
            StepEnd.Killed => (NodePhase.Failed, outcome.Message),
            _ => (NodePhase.Error, outcome.Message),
        };
        var outputs = new Outputs();
        if (outcome.ExitCode is { } code) outputs.ExitCode = code.ToString(CultureInfo.InvariantCulture);
        outputs.Result = ReadResult(executor.LogPath(key, "stdout"));

        if (outcome.End == StepEnd.Exited)
        {
            foreach (var p in pod.Template.Outputs?.Parameters ?? [])
            {
                var (value, error) = ReadParameter(key, p);
                if (error is not null && phase == NodePhase.Succeeded) (phase, message) = (NodePhase.Error, error);
                (outputs.Parameters ??= []).Add(new Parameter { Name = p.Name, Value = value, GlobalName = p.GlobalName });
            }
            foreach (var a in pod.Template.Outputs?.Artifacts ?? [])
            {
                if (a.Path is not { } path) continue;
                string host;
                try { host = executor.HostPath(key, path); }
                catch (OutputPathException e)
                {
                    // Refused whether or not the artifact is optional: the step pointed its output at something not its own.
                    if (phase == NodePhase.Succeeded) (phase, message) = (NodePhase.Error, $"failed to save outputs: artifact '{a.Name}': {e.Message}");
                    continue;
                }
                if (!File.Exists(host) && !Directory.Exists(host))
                {
                    if (a.Optional != true && phase == NodePhase.Succeeded)
                        (phase, message) = (NodePhase.Error, $"failed to save outputs: artifact '{a.Name}': {path}: no such file or directory");
                    continue;
                }
                try { (outputs.Artifacts ??= []).Add(await artifacts.SaveAsync(wf, key.NodeId, a, host, ct).ConfigureAwait(false)); }
                catch (ArtifactException e)
                {
                    if (phase == NodePhase.Succeeded) (phase, message) = (NodePhase.Error, e.Message);
                }
            }
        }
        return new PodResult(pod.NodeId, phase, message, outcome.ExitCode, outputs, outcome.StartedAt, outcome.FinishedAt);
    }

    private (string? Value, string? Error) ReadParameter(StepKey key, Parameter p)
    {
        if (p.ValueFrom?.Path is not { } path) return (p.Value ?? p.ValueFrom?.Default, null);
        try
        {
            var host = executor.HostPath(key, path);
            // Argo trims the trailing newline a shell's echo leaves.
            return (File.ReadAllText(host).TrimEnd('\n', '\r'), null);
        }
        catch (OutputPathException e)
        {
            return (null, $"failed to read output parameter '{p.Name}': {e.Message}");
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or UnauthorizedAccessException)
        {
            return p.ValueFrom.Default is { } d ? (d, null) : (null, $"failed to read output parameter '{p.Name}' from {path}: no such file");
        }
    }

    private static string? ReadResult(string stdoutPath)
    {
        if (!File.Exists(stdoutPath)) return null;
        using var f = File.OpenRead(stdoutPath);
        var buffer = new byte[Math.Min(f.Length, MaxResultBytes)];
        var n = f.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        return Encoding.UTF8.GetString(buffer, 0, n).TrimEnd('\n', '\r');
    }
}
