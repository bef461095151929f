using System.Text;
using EventGateway.Languages.Expr;

namespace EventGateway.Languages.GoTemplates;

/// <summary>
/// A parsed Go text/template with sprig functions, as Argo Events renders <c>dataTemplate</c>,
/// <c>contextTemplate</c> and data-filter <c>template</c>. Data is a JSON value (JsonElement/JsonNode) or plain
/// CLR dictionaries/lists/scalars; JSON numbers are float64 as in Go. Missing keys print "&lt;no value&gt;"
/// (Argo does not set the missingkey option). Instances are immutable and safe to share.
/// </summary>
public sealed class GoTemplate
{
    private static readonly BoundedCache<GoTemplate> Cache = new(512);

    private readonly ListNode tree;

    private GoTemplate(string name, string text, ListNode tree)
    {
        Name = name;
        Text = text;
        this.tree = tree;
    }

    public string Name { get; }

    public string Text { get; }

    /// <summary>Parses (memoised per name and text); throws <see cref="GoTemplateException"/> on syntax errors.</summary>
    public static GoTemplate Parse(string text, string name = "param")
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(name);
        return Cache.GetOrAdd(name + "\0" + text, _ =>
        {
            try
            {
                return new GoTemplate(name, text, GoTemplateParser.Parse(text));
            }
            catch (GoTemplateError e)
            {
                throw new GoTemplateException($"template: {name}:{Line(text, e.Position)}: {e.Message}", e);
            }
        });
    }

    /// <summary>Executes against <paramref name="data"/> (the template's dot, e.g. <c>{"Input": event}</c>).</summary>
    public string Render(object? data)
    {
        var root = GoTemplateValues.FromData(data);
        try
        {
            return new GoTemplateEvaluator(Name, root).Run(tree, root);
        }
        catch (GoTemplateError e)
        {
            var location = e.Position >= 0 ? $"{Line(Text, e.Position)}:{Column(Text, e.Position)}" : "0:0";
            throw new GoTemplateException($"template: {Name}:{location}: {e.Message}", e);
        }
    }

    private static int Line(string text, int position) =>
        1 + text.AsSpan(0, Math.Clamp(position, 0, text.Length)).Count('\n');

    /// <summary>Go reports the 0-based byte offset within the line.</summary>
    private static int Column(string text, int position)
    {
        var prefix = text[..Math.Clamp(position, 0, text.Length)];
        var lineStart = prefix.LastIndexOf('\n') + 1;
        return Encoding.UTF8.GetByteCount(prefix.AsSpan(lineStart));
    }
}
