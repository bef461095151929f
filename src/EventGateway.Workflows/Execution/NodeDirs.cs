using System.Globalization;

namespace EventGateway.Workflows.Execution;

/// <summary>
/// Where every executor keeps a step's files: DATA/pods/namespace/workflow/node (logs, exitcode, pid, outputs). They
/// outlive the process that wrote them, so a restarted service reads a step's end from them.
/// </summary>
public static class NodeDirs
{
    /// <summary>A step's directory without creating it: reading logs of a collected step must not bring it back.</summary>
    public static string Of(string root, StepKey key) => Path.Combine(root, key.Namespace, key.Workflow, key.NodeId);

    /// <summary>A step's directory, made if missing (a step about to start).</summary>
    public static string Make(string root, StepKey key)
    {
        var dir = Of(root, key);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>The exit code the step's end wrote, or null while it has none (running, or never started).</summary>
    public static int? ReadExit(string dir)
    {
        var path = Path.Combine(dir, "exitcode");
        // Asked first, not caught: every step is asked before it starts, and an exception per step was ~1 % of a fan-out's CPU.
        if (!File.Exists(path)) return null;
        try { return int.TryParse(File.ReadAllText(path).Trim(), CultureInfo.InvariantCulture, out var code) ? code : null; }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException) { return null; } // removed meanwhile (a retry discards the node's files)
    }
}
