using System.CommandLine;
using EventGateway.Server.Hosting;
using EventGateway.Workflows.Validation;

namespace EventGateway.Cli.Commands;

/// <summary>`--max-loop-items` and `--max-workflow-nodes`, shared by `egw serve` and `egw run`.</summary>
internal sealed class WorkflowLimitOptions
{
    public Option<int?> MaxLoopItems { get; } = new("--max-loop-items")
        { Description = $"items one withItems/withParam/withSequence may expand to; more is refused at submit or ends the node in Error (default {WorkflowLimits.Default.MaxLoopItems})" };

    public Option<int?> MaxWorkflowNodes { get; } = new("--max-workflow-nodes")
        { Description = $"nodes one workflow may have; a loop that would pass it ends in Error (default {WorkflowLimits.Default.MaxWorkflowNodes})" };

    public void AddTo(Command cmd)
    {
        cmd.Options.Add(MaxLoopItems);
        cmd.Options.Add(MaxWorkflowNodes);
    }

    public void Apply(ParseResult r, EventGatewayOptions options) => options.Limits = options.Limits with
    {
        MaxLoopItems = r.GetValue(MaxLoopItems) ?? options.Limits.MaxLoopItems,
        MaxWorkflowNodes = r.GetValue(MaxWorkflowNodes) ?? options.Limits.MaxWorkflowNodes,
    };
}
