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
