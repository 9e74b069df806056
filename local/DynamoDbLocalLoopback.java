import java.lang.reflect.Field;
import java.lang.reflect.Method;

/**
 * Starts AWS's DynamoDB Local bound to 127.0.0.1 only.
 *
 * DynamoDB Local 3.x has no bind-address option: its DynamoDBProxyServer builds a
 * Jetty Server(port), which listens on every interface. This launcher builds the
 * server exactly as the jar's own main does (same command-line options), sets the
 * connector's host to the loopback address before starting it, and then runs it.
 * Run in Java's single-file source mode (Java 11+), so nothing is compiled into the repo.
 */
public class DynamoDbLocalLoopback {
  public static void main(String[] args) throws Exception {
    Class<?> runner = Class.forName("software.amazon.dynamodb.services.local.main.ServerRunner");
    Method create = runner.getMethod("createServerFromCommandLineArgs", String[].class);
    Object proxy = create.invoke(null, (Object) args);
    Field serverField = proxy.getClass().getDeclaredField("server");
    serverField.setAccessible(true);
    Object jetty = serverField.get(proxy);
    Object[] connectors = (Object[]) jetty.getClass().getMethod("getConnectors").invoke(jetty);
    for (Object connector : connectors) {
      connector.getClass().getMethod("setHost", String.class).invoke(connector, "127.0.0.1");
    }
    proxy.getClass().getMethod("start").invoke(proxy);
    System.out.println("DynamoDB Local listening on 127.0.0.1");
    proxy.getClass().getMethod("join").invoke(proxy);
  }
}
