import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type { Construct } from "constructs";
import { routes as allRoutes } from "../lib/routes/index.ts";
import type { RouteDef } from "../lib/routes/types.ts";
import { Api } from "./constructs/api.ts";
import { Audit } from "./constructs/audit.ts";
import { Data } from "./constructs/data.ts";
import { HoldSweeper } from "./constructs/holds.ts";
import { Keys } from "./constructs/keys.ts";
import { Monitoring } from "./constructs/monitoring.ts";
import { SigningKey } from "./constructs/signing-key.ts";
import { Waf } from "./constructs/waf.ts";
import { Webhooks } from "./constructs/webhooks.ts";
import { acknowledgeFindings } from "./nag.ts";
import type { DeployOptions, StageSettings } from "./stage.ts";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** API.md: request bodies are at most 16 KiB. */
export const MAX_BODY_BYTES = 16 * 1024;

export interface MicroPayStackProps extends StackProps {
  readonly stage: StageSettings;
  readonly options: DeployOptions;
  /** The route table; defaults to lib/routes (tests may pass their own). */
  readonly routes?: readonly RouteDef[];
}

/**
 * MicroPay: keys, data, signing key, API + WAF, audit and monitoring composed into
 * one stack per stage.
 */
export class MicroPayStack extends Stack {
  readonly keys: Keys;
  readonly data: Data;
  readonly signingKey: SigningKey;
  readonly api: Api;
  readonly waf: Waf;
  readonly audit: Audit;
  readonly monitoring: Monitoring;
  readonly webhooks: Webhooks;
  readonly holds: HoldSweeper;

  constructor(scope: Construct, id: string, props: MicroPayStackProps) {
    super(scope, id, props);
    const { stage, options } = props;
    this.keys = new Keys(this, "Keys", { stageName: stage.name });
    this.data = new Data(this, "Data", { key: this.keys.table });
    const environment = {
      MICROPAY_TABLE_NAME: this.data.table.tableName,
      MICROPAY_STAGE: stage.name,
      MICROPAY_LOG_LEVEL: "INFO",
      // Webhook URLs: https:// to public addresses only (the local stack allows loopback).
      MICROPAY_WEBHOOK_ALLOW_LOOPBACK: "0",
    };
    this.signingKey = new SigningKey(this, "SigningKey", {
      stageName: stage.name,
      generatorEntry: join(root, "infra", "runtime", "signing-key.ts"),
      key: this.keys.secrets,
      logsKey: this.keys.logs,
      logRetention: stage.logRetention,
      removalPolicy: stage.removalPolicy,
    });
    this.api = new Api(this, "Api", {
      routes: props.routes ?? allRoutes,
      functionsDir: join(root, "functions"),
      data: this.data,
      signingKey: this.signingKey,
      signingKeyKey: this.keys.secrets,
      logsKey: this.keys.logs,
      stage,
      environment,
      logRetention: stage.logRetention,
      removalPolicy: stage.removalPolicy,
      ...(options.domainName && options.certificateArn
        ? { domain: { domainName: options.domainName, certificateArn: options.certificateArn } }
        : {}),
    });
    // No traffic before the signing key exists: the stage is deployed after the generator ran.
    this.api.api.deploymentStage.node.addDependency(this.signingKey.generate);
    this.waf = new Waf(this, "Waf", {
      stageName: stage.name,
      apiStage: this.api.api.deploymentStage,
      ratePerIp: stage.wafRatePerIp,
      ratePerApiKey: stage.wafRatePerApiKey,
      authRatePerIp: stage.wafAuthRatePerIp,
      maxBodyBytes: MAX_BODY_BYTES,
      logsKey: this.keys.logs,
      logRetention: stage.logRetention,
      removalPolicy: stage.removalPolicy,
    });
    this.audit = new Audit(this, "Audit", {
      stageName: stage.name,
      entry: join(root, "functions", "audit.ts"),
      table: this.data.table,
      // lib/audit/dedupe-dynamodb.ts: claim (Put), read a found marker (Get), mark done
      // (Update), release after a failed sink write (Delete). No Query, no BatchGet.
      tableStatements: this.data.statementsFor("write", {
        actions: ["GetItem", "PutItem", "UpdateItem", "DeleteItem"],
      }),
      logsKey: this.keys.logs,
      messagingKey: this.keys.messaging,
      environment,
      logRetention: stage.logRetention,
      auditRetention: options.auditRetention,
      removalPolicy: stage.removalPolicy,
    });
    this.webhooks = new Webhooks(this, "Webhooks", {
      stageName: stage.name,
      dispatcherEntry: join(root, "functions", "webhook-dispatcher.ts"),
      sweeperEntry: join(root, "functions", "webhook-sweeper.ts"),
      retriesEntry: join(root, "functions", "webhook-retries.ts"),
      data: this.data,
      table: this.data.table,
      logsKey: this.keys.logs,
      messagingKey: this.keys.messaging,
      environment,
      logRetention: stage.logRetention,
      removalPolicy: stage.removalPolicy,
    });
    this.holds = new HoldSweeper(this, "Holds", {
      stageName: stage.name,
      entry: join(root, "functions", "hold-sweeper.ts"),
      data: this.data,
      logsKey: this.keys.logs,
      environment,
      logRetention: stage.logRetention,
      removalPolicy: stage.removalPolicy,
    });
    this.monitoring = new Monitoring(this, "Monitoring", {
      stage,
      api: this.api.api,
      accessLogs: this.api.accessLogs,
      webAclName: `micropay-${stage.name}`,
      auditFunction: this.audit.fn.fn,
      auditDeadLetters: this.audit.deadLetters,
      messagingKey: this.keys.messaging,
      ...(options.alarmTopicArn ? { alarmTopicArn: options.alarmTopicArn } : {}),
    });
    this.webhooks.addAlarms(new SnsAction(this.monitoring.topic));
    this.holds.addAlarms(new SnsAction(this.monitoring.topic));
    new CfnOutput(this, "ApiUrl", { value: this.api.url, description: "Base URL of the API" });
    new CfnOutput(this, "AuditLogGroup", {
      value: this.audit.logGroup.logGroupName,
      description: "CloudWatch Logs group of the audit trail",
    });
    new CfnOutput(this, "TableName", {
      value: this.data.table.tableName,
      description: "DynamoDB table (for npm run admin:create)",
    });
    new CfnOutput(this, "AlarmTopicArn", { value: this.monitoring.topic.topicArn });
    new CfnOutput(this, "SigningKeySecretArn", { value: this.signingKey.secret.secretArn });
    acknowledgeFindings(this);
  }
}
