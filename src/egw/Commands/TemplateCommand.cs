using System.CommandLine;
using EventGateway.Cli.Output;
using EventGateway.Model;

namespace EventGateway.Cli.Commands;

/// <summary>`egw template create|list|get|delete`, as `argo template`: WorkflowTemplates, run with `egw submit --from workflowtemplate/NAME`.</summary>
internal static class TemplateCommand
{
    private const string Collection = "api/v1/workflow-templates";

    public static Command Create()
    {
        var cmd = new Command("template", "WorkflowTemplates: reusable workflow specs, frozen into each workflow at submission");
        cmd.Subcommands.Add(StoredResourceCommands.Create<WorkflowTemplate>("create WorkflowTemplates from files", Collection, "template"));
        cmd.Subcommands.Add(ResourceViews.List("list WorkflowTemplates", Collection, CronPrinter.TemplateTable));
        cmd.Subcommands.Add(ResourceViews.Get("show a WorkflowTemplate", "workflow template", Collection, CronPrinter.TemplateDetail));
        cmd.Subcommands.Add(StoredResourceCommands.Delete("WorkflowTemplate", Collection));
        return cmd;
    }
}

/// <summary>`egw cluster-template create|list|get|delete`, as `argo cluster-template`: ClusterWorkflowTemplates, referenced with
/// `clusterScope: true` and run with `egw submit --from clusterworkflowtemplate/NAME`.</summary>
internal static class ClusterTemplateCommand
{
    private static readonly RestCollection Collection = new("api/v1/cluster-workflow-templates", ClusterScoped: true);

    public static Command Create()
    {
        var cmd = new Command("cluster-template", "ClusterWorkflowTemplates: workflow specs shared by every namespace");
        cmd.Subcommands.Add(StoredResourceCommands.Create<ClusterWorkflowTemplate>("create ClusterWorkflowTemplates from files", Collection, "template"));
        cmd.Subcommands.Add(ResourceViews.List("list ClusterWorkflowTemplates", Collection, CronPrinter.TemplateTable));
        cmd.Subcommands.Add(ResourceViews.Get("show a ClusterWorkflowTemplate", "cluster workflow template", Collection, CronPrinter.TemplateDetail));
        cmd.Subcommands.Add(StoredResourceCommands.Delete("ClusterWorkflowTemplate", Collection));
        return cmd;
    }
}
