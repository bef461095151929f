namespace EventGateway.Model;

/// <summary>
/// One of Argo's lifecycle hooks (<c>hooks: {NAME: {template|templateRef, arguments, expression}}</c>) on a
/// workflow, a step or a DAG task. <c>exit</c> is an exit handler; any other hook fires once, when its
/// expression first holds.
/// </summary>
public sealed class LifecycleHook
{
    /// <summary>The hook that runs after its step or workflow has completed, whatever the outcome.</summary>
    public const string Exit = "exit";

    /// <summary>The hook that, without an expression of its own, fires once its step or workflow runs.</summary>
    public const string Running = "running";

    public string? Template { get; set; }
    public TemplateRef? TemplateRef { get; set; }
    public Arguments? Arguments { get; set; }
    public string? Expression { get; set; }
}
