package dev.logingest.testnode;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Collection;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.apache.logging.log4j.LogManager;
import org.opensearch.analysis.common.CommonAnalysisPlugin;
import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.index.reindex.ReindexPlugin;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;
import org.opensearch.transport.Netty4Plugin;

/**
 * A real single-node OpenSearch 2.19 for tests, run in-process from the Maven
 * Central artifacts: the server jar plus the modules we need (transport-netty4
 * for HTTP, analysis-common for the pattern tokenizer and lowercase filter,
 * reindex for _delete_by_query). Binds 127.0.0.1 only.
 *
 * <pre>
 * java -Xmx1g -cp 'target/classes:target/classpath/*' dev.logingest.testnode.Main \
 *     --http-port 9200 --dir /tmp/os-test [--transport-port 0] [--exit-with PID] [-E key=value ...]
 * </pre>
 *
 * Everything (data, logs, config) lives under --dir, which must be empty or
 * absent. The node stops on SIGTERM/SIGINT, and when the --exit-with process is
 * gone. Started by scripts/services.sh.
 */
public final class Main {
    private static final List<Class<? extends Plugin>> PLUGINS =
        List.of(Netty4Plugin.class, CommonAnalysisPlugin.class, ReindexPlugin.class);

    /** Node's constructor that takes classpath plugins is protected in 2.x. */
    static final class TestNode extends Node {
        TestNode(Environment env, Collection<Class<? extends Plugin>> plugins) {
            super(env, plugins, true);
        }
    }

    /** Warnings and worse to a file under the data dir; errors also to stderr. */
    private static final String LOG4J2_PROPERTIES = String.join(
        "\n",
        "status = error",
        "appender.console.type = Console",
        "appender.console.name = console",
        "appender.console.target = SYSTEM_ERR",
        "appender.console.layout.type = PatternLayout",
        "appender.console.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] [%node_name]%marker %m%n",
        "appender.console.filter.threshold.type = ThresholdFilter",
        "appender.console.filter.threshold.level = error",
        "appender.file.type = File",
        "appender.file.name = file",
        "appender.file.fileName = ${sys:opensearch.logs.base_path}${sys:file.separator}"
            + "${sys:opensearch.logs.cluster_name}.log",
        "appender.file.layout.type = PatternLayout",
        "appender.file.layout.pattern = [%d{ISO8601}][%-5p][%-25c{1.}] [%node_name]%marker %m%n",
        "rootLogger.level = warn",
        "rootLogger.appenderRef.console.ref = console",
        "rootLogger.appenderRef.file.ref = file",
        // "node started" and the bound address, so the log shows the start
        "logger.node.name = org.opensearch.node.Node",
        "logger.node.level = info",
        "logger.http.name = org.opensearch.http.AbstractHttpServerTransport",
        "logger.http.level = info",
        "");

    private Main() {}

    public static void main(String[] args) throws Exception {
        int httpPort = -1;
        String transportPort = "0";
        Path dir = null;
        long exitWith = -1;
        Settings.Builder extra = Settings.builder();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            switch (a) {
                case "--http-port":
                    httpPort = Integer.parseInt(value(args, ++i, a));
                    break;
                case "--transport-port":
                    transportPort = value(args, ++i, a);
                    break;
                case "--dir":
                    dir = Paths.get(value(args, ++i, a)).toAbsolutePath();
                    break;
                case "--exit-with":
                    exitWith = Long.parseLong(value(args, ++i, a));
                    break;
                case "-E": {
                    String kv = value(args, ++i, a);
                    int eq = kv.indexOf('=');
                    if (eq <= 0) {
                        usage("-E takes key=value, got: " + kv);
                    }
                    extra.put(kv.substring(0, eq), kv.substring(eq + 1));
                    break;
                }
                case "-h":
                case "-help":
                case "--help":
                    usage(null);
                    break;
                default:
                    usage("unknown argument: " + a);
            }
        }
        if (httpPort < 0 || dir == null) {
            usage("--http-port and --dir are required");
        }

        Path home = dir.resolve("home");
        Path config = home.resolve("config");
        Path logs = dir.resolve("logs");
        Path data = dir.resolve("data");
        // PluginsService scans these even when every plugin comes from the classpath.
        for (Path p : List.of(config, home.resolve("modules"), home.resolve("plugins"), logs, data)) {
            Files.createDirectories(p);
        }
        Files.writeString(config.resolve("log4j2.properties"), LOG4J2_PROPERTIES, StandardCharsets.UTF_8);
        Files.writeString(config.resolve("opensearch.yml"), "", StandardCharsets.UTF_8);

        String nodeName = "logingest-test";
        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", data.toString())
            .put("path.logs", logs.toString())
            .put("cluster.name", "logingest-test")
            .put("node.name", nodeName)
            .put("network.host", "127.0.0.1")
            .put("http.port", httpPort)
            .put("transport.port", transportPort)
            .put("discovery.type", "single-node")
            // a nearly full disk must not block shard allocation in tests
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .put(extra.build())
            .build();

        // LogConfigurator.configure redirects System.out/err into log4j; keep the real ones.
        PrintStream stdout = System.out;
        PrintStream stderr = System.err;
        // Let our shutdown hook log the node's close instead of log4j closing first.
        System.setProperty("log4j.shutdownHookEnabled", "false");
        System.setProperty("log4j2.disable.jmx", "true");

        Environment env = InternalSettingsPreparer.prepareEnvironment(
            settings, Collections.emptyMap(), config, () -> nodeName);
        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName(nodeName);
        LogConfigurator.configure(env);

        Node node = new TestNode(env, PLUGINS);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(20, TimeUnit.SECONDS);
            } catch (IOException | InterruptedException e) {
                e.printStackTrace(stderr);
            } finally {
                LogManager.shutdown();
                stopped.countDown();
            }
        }, "logingest-test-node-shutdown"));
        try {
            node.start();
        } catch (Throwable t) {
            stderr.println("opensearch-test-node: failed to start: " + t);
            t.printStackTrace(stderr);
            stderr.flush();
            System.exit(1);
        }
        if (exitWith > 0) {
            watchParent(exitWith, stderr);
        }
        stdout.println("opensearch-test-node: started, http://127.0.0.1:" + httpPort);
        stdout.flush();
        stopped.await();
    }

    /** Stop (through the shutdown hook) when the process that started us is gone, e.g. SIGKILLed. */
    private static void watchParent(long pid, PrintStream stderr) {
        Thread t = new Thread(() -> {
            while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    return;
                }
            }
            stderr.println("opensearch-test-node: process " + pid + " is gone, stopping");
            System.exit(0);
        }, "logingest-test-node-parent-watch");
        t.setDaemon(true);
        t.start();
    }

    private static String value(String[] args, int i, String flag) {
        if (i >= args.length) {
            usage(flag + " needs a value");
        }
        return args[i];
    }

    private static void usage(String error) {
        if (error != null) {
            System.err.println("opensearch-test-node: " + error);
        }
        System.err.println(
            "usage: Main --http-port PORT --dir DIR [--transport-port PORT|RANGE (default 0)]\n"
                + "            [--exit-with PID (stop when that process is gone)] [-E key=value ...]");
        System.exit(error == null ? 0 : 2);
    }
}
