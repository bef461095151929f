using System.Globalization;
using EventGateway.Model;
using EventGateway.Workflows.Execution;
using EventGateway.Workflows.Store;

namespace EventGateway.Workflows.Artifacts;

/// <summary>
/// Clones <c>git</c> input artifacts with the git CLI before their step starts. The clone is a step of its own, in the
/// same sandbox as every step (its own uid, the workflow's network, the service's limits, a deadline of
/// <see cref="CloneTimeout"/>), never a process of the service: a repository is as untrusted as the step's code. It
/// clones into a volume of the step's pod, which the step then gets bound at the artifact's path, so nothing of the
/// clone (symlinks included) is ever read or copied on the host. Credentials (usernameSecret/passwordSecret) reach git
/// through its askpass program and the environment, never its command line.
/// </summary>
public sealed class GitArtifactLoader(IStepExecutor executor, SecretResolver secrets, TimeProvider time)
{
    public static readonly TimeSpan CloneTimeout = TimeSpan.FromMinutes(10);

    private const string ClonePath = "/clone";
    private const string AskPass = "/egw/git-askpass";

    // Argo's order: clone (depth, single branch), fetch the extra refspecs, check out the revision, update submodules.
    // Every value comes from the environment, so nothing in the manifest is ever parsed by the shell.
    private const string Script = """
        set -e
        set -- clone --quiet
        [ -n "$EGW_GIT_DEPTH" ] && set -- "$@" --depth "$EGW_GIT_DEPTH"
        [ -n "$EGW_GIT_BRANCH" ] && set -- "$@" --single-branch --branch "$EGW_GIT_BRANCH"
        git "$@" -- "$EGW_GIT_REPO" /clone
        cd /clone
        if [ -n "$EGW_GIT_FETCH" ]; then
          printf '%s\n' "$EGW_GIT_FETCH" | while IFS= read -r spec; do git fetch --quiet ${EGW_GIT_DEPTH:+--depth "$EGW_GIT_DEPTH"} origin "$spec"; done
        fi
        if [ -n "$EGW_GIT_REVISION" ]; then
          git checkout --quiet "$EGW_GIT_REVISION" 2>/dev/null || {
            git fetch --quiet ${EGW_GIT_DEPTH:+--depth "$EGW_GIT_DEPTH"} origin "$EGW_GIT_REVISION"
            git checkout --quiet FETCH_HEAD
          }
        fi
        [ -n "$EGW_GIT_NO_SUBMODULES" ] || git submodule --quiet update --init --recursive
        """;

    private const string AskPassScript = """
        #!/bin/sh
        case "$1" in
          Username*) printf '%s\n' "$EGW_GIT_USERNAME" ;;
          *) printf '%s\n' "$EGW_GIT_PASSWORD" ;;
        esac
        """;

    /// <summary>The volume holding input <paramref name="index"/>'s clone, owned by the step's pod.</summary>
    public static string VolumeName(int index) => $"egw-git-{index.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Clones the artifact into the pod's volume; returns the volume to bind at the artifact's path.</summary>
    /// <exception cref="ArtifactException">the clone failed; the message has git's own words.</exception>
    public async Task<SharedVolume> LoadAsync(Workflow wf, StepKey pod, int index, Artifact input, CancellationToken ct)
    {
        var git = input.Git!;
        var volume = new SharedVolume(pod, VolumeName(index), ClonePath);
        var env = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["EGW_GIT_REPO"] = git.Repo ?? "",
            ["EGW_GIT_REVISION"] = git.Revision ?? "",
            ["EGW_GIT_BRANCH"] = git.SingleBranch == true ? git.Branch ?? "" : "",
            ["EGW_GIT_DEPTH"] = git.Depth is > 0 and var d ? d.ToString(CultureInfo.InvariantCulture) : "",
            ["EGW_GIT_FETCH"] = string.Join('\n', git.Fetch ?? []),
            ["EGW_GIT_NO_SUBMODULES"] = git.DisableSubmodules == true ? "1" : "",
            ["GIT_TERMINAL_PROMPT"] = "0",
            ["GIT_CONFIG_NOSYSTEM"] = "1",
            ["GIT_ASKPASS"] = AskPass,
            // Command-line configuration (git's protected scope): no hooks, no TLS check only when asked for.
            ["GIT_CONFIG_COUNT"] = "3",
            ["GIT_CONFIG_KEY_0"] = "core.hooksPath",
            ["GIT_CONFIG_VALUE_0"] = "/dev/null",
            ["GIT_CONFIG_KEY_1"] = "http.sslVerify",
            ["GIT_CONFIG_VALUE_1"] = git.InsecureSkipTLS == true ? "false" : "true",
            // The volume's directory is the service's, shared through the steps' group: git would call it dubious.
            ["GIT_CONFIG_KEY_2"] = "safe.directory",
            ["GIT_CONFIG_VALUE_2"] = ClonePath,
        };
        try
        {
            var ns = wf.NamespaceOrDefault;
            if (git.UsernameSecret is { } u) env["EGW_GIT_USERNAME"] = await secrets.RequireAsync(ns, u, "git.usernameSecret", ct).ConfigureAwait(false);
            if (git.PasswordSecret is { } p) env["EGW_GIT_PASSWORD"] = await secrets.RequireAsync(ns, p, "git.passwordSecret", ct).ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            throw new ArtifactException($"failed to load input artifact '{input.Name}': {e.Message}", e);
        }

        // Under the step's own directory: discarding the step discards its clones; a restart adopts a finished one.
        var key = pod with { NodeId = $"{pod.NodeId}/{VolumeName(index)}" };
        var spec = new StepSpec(key, "git", ["sh", "-c", Script], "/", env,
            [new StagedFile(AskPass, null, AskPassScript, Mode: 0b111_101_101)], time.GetUtcNow() + CloneTimeout) { Volumes = [volume] };
        var outcome = await executor.RunAsync(spec, () => { }, ct).ConfigureAwait(false);
        if (outcome.Succeeded) return volume;
        var said = ReadTail(executor.LogPath(key, "stderr"));
        var why = outcome.End switch
        {
            StepEnd.DeadlineExceeded => $"the clone took longer than {CloneTimeout.TotalMinutes:0} minutes",
            StepEnd.Exited when said.Length > 0 => said,
            _ => outcome.Message ?? "git failed",
        };
        throw new ArtifactException($"failed to load input artifact '{input.Name}': git clone of {Redacted(git.Repo)}: {why}");
    }

    private static string ReadTail(string path)
    {
        try
        {
            var text = File.ReadAllText(path).Trim();
            return text.Length > 600 ? "…" + text[^600..] : text;
        }
        catch (IOException) { return ""; }
    }

    private static string Redacted(string? repo) =>
        Uri.TryCreate(repo, UriKind.Absolute, out var u) && !string.IsNullOrEmpty(u.UserInfo) ? new UriBuilder(u) { UserName = "", Password = "" }.Uri.ToString() : repo ?? "";
}
