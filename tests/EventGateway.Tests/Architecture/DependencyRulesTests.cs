using System.Reflection;
using System.Xml.Linq;
using NetArchTest.Rules;
using Shouldly;

namespace EventGateway.Tests.Architecture;

/// <summary>
/// The project references are the architecture: each rule here fails the build's tests when a wrong arrow is
/// added, whether as a ProjectReference in a .csproj or as a type used across a forbidden boundary.
/// </summary>
public sealed class DependencyRulesTests
{
    private const string Languages = "EventGateway.Languages";
    private const string Model = "EventGateway.Model";
    private const string Workflows = "EventGateway.Workflows";
    private const string Events = "EventGateway.Events";
    private const string Postgres = "EventGateway.Postgres";
    private const string Server = "EventGateway.Server";
    private const string Cli = "egw";

    /// <summary>Each project and the projects it may reference directly; nothing else.</summary>
    public static readonly Dictionary<string, string[]> Allowed = new()
    {
        [Languages] = [],
        [Model] = [Languages],
        [Workflows] = [Model],
        [Events] = [Workflows],
        [Postgres] = [Events],
        [Server] = [Events, Postgres],
        [Cli] = [Server],
    };

    /// <summary>Everything a project can reach through its references.</summary>
    private static HashSet<string> Reachable(string project)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var todo = new Stack<string>(Allowed[project]);
        while (todo.TryPop(out var p))
            if (seen.Add(p)) foreach (var q in Allowed[p]) todo.Push(q);
        return seen;
    }

    public static TheoryData<string> Projects => [.. Allowed.Keys];

    [Theory]
    [MemberData(nameof(Projects))]
    public void A_project_references_exactly_the_projects_the_architecture_gives_it(string project)
    {
        var csproj = XDocument.Load(ProjectFile(project));
        var references = csproj.Descendants("ProjectReference")
            .Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value))
            .Order(StringComparer.Ordinal).ToArray();
        references.ShouldBe(Allowed[project].Order(StringComparer.Ordinal).ToArray(), $"{project}.csproj's ProjectReferences");
    }

    [Theory]
    [MemberData(nameof(Projects))]
    public void A_compiled_assembly_uses_only_the_projects_it_can_reach(string project) =>
        ForbiddenProjectReferences(Load(project), Reachable(project)).ShouldBeEmpty();

    [Fact]
    public void The_workflow_side_and_below_never_use_ASP_NET_Core()
    {
        foreach (var project in new[] { Languages, Model, Workflows })
        {
            XDocument.Load(ProjectFile(project)).Descendants("FrameworkReference").ShouldBeEmpty($"{project} has a FrameworkReference");
            Load(project).GetReferencedAssemblies().Select(a => a.Name!)
                .Where(n => n.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal)).ShouldBeEmpty(project);
        }
    }

    [Fact]
    public void Event_sources_never_reach_sensors_triggers_the_controller_or_the_executors()
    {
        var result = Types.InAssembly(Load(Events)).That().ResideInNamespace($"{Events}.EventSources")
            .ShouldNot().HaveDependencyOnAny($"{Events}.Sensors", $"{Workflows}.Controller", $"{Workflows}.Execution")
            .GetResult();
        Offenders(result).ShouldBeEmpty();
    }

    [Fact]
    public void Sensors_create_workflows_through_the_submitter_never_the_controller_or_the_executors()
    {
        var result = Types.InAssembly(Load(Events)).That().ResideInNamespace($"{Events}.Sensors")
            .ShouldNot().HaveDependencyOnAny($"{Workflows}.Controller", $"{Workflows}.Execution")
            .GetResult();
        Offenders(result).ShouldBeEmpty();
    }

    [Fact]
    public void The_event_log_knows_no_sources_and_no_sensors()
    {
        var result = Types.InAssembly(Load(Events)).That().ResideInNamespace($"{Events}.Log")
            .ShouldNot().HaveDependencyOnAny($"{Events}.EventSources", $"{Events}.Sensors", Workflows)
            .GetResult();
        Offenders(result).ShouldBeEmpty();
    }

    // The rules above must be able to fail: run the same checks where the wrong arrows do exist.

    [Fact]
    public void The_reference_rule_catches_a_wrong_arrow()
    {
        // The Server assembly uses Events; judged as if it were the Workflows project, that is forbidden.
        ForbiddenProjectReferences(Load(Server), Reachable(Workflows)).ShouldContain(Events);
    }

    [Fact]
    public void The_namespace_rule_catches_a_wrong_arrow()
    {
        // The sensor host does run sensors; the event-source rule, pointed at it, must say so.
        var result = Types.InAssembly(Load(Events)).That().ResideInNamespace($"{Events}.Sensors")
            .ShouldNot().HaveDependencyOnAny($"{Events}.Sensors.Triggers")
            .GetResult();
        Offenders(result).ShouldNotBeEmpty();
    }

    private static List<string> ForbiddenProjectReferences(Assembly assembly, HashSet<string> reachable) =>
        assembly.GetReferencedAssemblies().Select(a => a.Name!)
            .Where(n => Allowed.ContainsKey(n) && !reachable.Contains(n))
            .ToList();

    private static List<string> Offenders(TestResult result) =>
        result.IsSuccessful ? [] : (result.FailingTypeNames ?? []).ToList();

    private static Assembly Load(string project) => Assembly.Load(project);

    private static string ProjectFile(string project)
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "EventGateway.sln"))) dir = dir.Parent;
        dir.ShouldNotBeNull("the repository root (EventGateway.sln) above the test binaries");
        return Path.Combine(dir.FullName, "src", project, $"{project}.csproj");
    }
}
