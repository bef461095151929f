using EventGateway.Workflows.Execution;
using Shouldly;

namespace EventGateway.Tests.Workflows.Execution;

/// <summary>
/// Whatever walks a whole tree to change or read it (handing a step's root to its uid, making the shared sandbox
/// directories readable, fingerprinting them) must not reach through a symlink to a directory: the host's
/// /etc/alternatives links into /usr/lib, and a step's files can link anywhere.
/// </summary>
public sealed class FileTreeTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("egw-filetree-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void A_walk_lists_a_link_to_a_directory_but_never_enters_it()
    {
        var outside = Directory.CreateDirectory(Path.Combine(_dir, "outside")).FullName;
        File.WriteAllText(Path.Combine(outside, "secret"), "x");
        var tree = Directory.CreateDirectory(Path.Combine(_dir, "tree")).FullName;
        Directory.CreateDirectory(Path.Combine(tree, "sub"));
        File.WriteAllText(Path.Combine(tree, "sub", "file"), "y");
        File.CreateSymbolicLink(Path.Combine(tree, "sub", "link"), outside);

        var seen = FileTree.Walk(tree).Select(e => Path.GetRelativePath(tree, e.FullName)).Order(StringComparer.Ordinal).ToList();

        seen.ShouldBe(["sub", "sub/file", "sub/link"]);
    }

    [Fact]
    public void Handing_a_root_to_a_step_leaves_what_its_links_point_at_alone()
    {
        var outside = Directory.CreateDirectory(Path.Combine(_dir, "host-etc")).FullName;
        var secret = Path.Combine(outside, "shadow");
        File.WriteAllText(secret, "root only");
        var root = Directory.CreateDirectory(Path.Combine(_dir, "root")).FullName;
        File.CreateSymbolicLink(Path.Combine(root, "etc"), outside);
        File.WriteAllText(Path.Combine(root, "input"), "staged");

        Posix.ChownTree(root, StepUids.First, Sandbox.StepGid);

        Owner(secret).ShouldBe(0);
        Owner(outside).ShouldBe(0);
        Owner(Path.Combine(root, "input")).ShouldBe(StepUids.First);
    }

    private static int Owner(string path) => int.Parse(
        System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%u", path]) { RedirectStandardOutput = true })!
            .StandardOutput.ReadToEnd().Trim(), System.Globalization.CultureInfo.InvariantCulture);
}
