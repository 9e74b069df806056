import { ArnFormat, type RemovalPolicy, Stack } from "aws-cdk-lib";
import type { Stage } from "aws-cdk-lib/aws-apigateway";
import type { IKey } from "aws-cdk-lib/aws-kms";
import { LogGroup, type RetentionDays } from "aws-cdk-lib/aws-logs";
import { CfnLoggingConfiguration, CfnWebACL, CfnWebACLAssociation } from "aws-cdk-lib/aws-wafv2";
import { Construct } from "constructs";
import { API_KEY_BEARER_PREFIX } from "../../lib/auth/api-keys.ts";
import { API_SECURITY_HEADERS } from "../../lib/http/security-headers.ts";

export interface WafProps {
  readonly stageName: string;
  readonly apiStage: Stage;
  /** Requests per source IP per 5 minutes, all paths. */
  readonly ratePerIp: number;
  /**
   * Requests per API key per 5 minutes: aggregated on the Authorization header of
   * requests that carry a key, so one merchant's server cannot crowd out the rest.
   */
  readonly ratePerApiKey: number;
  /** Requests per source IP per 5 minutes on `/v1/auth/*`. */
  readonly authRatePerIp: number;
  /** Largest accepted request body in bytes (API.md: 16 KiB). */
  readonly maxBodyBytes: number;
  readonly logsKey: IKey;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

const securityHeaders = Object.entries(API_SECURITY_HEADERS).map(([name, value]) => ({
  name,
  value,
}));

function problemBody(status: number, code: string, title: string, detail: string): string {
  return JSON.stringify({ type: `urn:micropay:problem:${code}`, title, status, code, detail });
}

/**
 * WAFv2 web ACL on the API stage: AWS managed rule groups (common, known bad inputs,
 * IP reputation, SQL injection), a per-IP rate rule and a much stricter one on
 * `/v1/auth/*`, a per-API-key rate rule, a body size limit, each block answered as problem+json with the
 * security headers; logs to a KMS-encrypted `aws-waf-logs-` log group with the
 * Authorization header redacted.
 */
export class Waf extends Construct {
  readonly webAcl: CfnWebACL;
  readonly logGroup: LogGroup;
  readonly metricPrefix: string;

  constructor(scope: Construct, id: string, props: WafProps) {
    super(scope, id);
    if (props.authRatePerIp >= props.ratePerIp) {
      throw new Error("Waf: the /v1/auth/* rate limit must be stricter than the per-IP limit");
    }
    if (
      props.authRatePerIp < 10 ||
      props.ratePerApiKey < 10 ||
      Math.max(props.ratePerIp, props.ratePerApiKey) > 2_000_000_000
    ) {
      throw new Error("Waf: rate limits must be within 10..2e9 requests per 5 minutes");
    }
    this.metricPrefix = `micropay-${props.stageName}`;
    const visibility = (name: string) => ({
      cloudWatchMetricsEnabled: true,
      sampledRequestsEnabled: true,
      metricName: `${this.metricPrefix}-${name}`,
    });
    const managed = (priority: number, name: string, overrideToCount: string[] = []) => ({
      name: `aws-${name}`,
      priority,
      overrideAction: { none: {} },
      statement: {
        managedRuleGroupStatement: {
          vendorName: "AWS",
          name,
          ...(overrideToCount.length > 0
            ? {
                ruleActionOverrides: overrideToCount.map((n) => ({
                  name: n,
                  actionToUse: { count: {} },
                })),
              }
            : {}),
        },
      },
      visibilityConfig: visibility(name),
    });
    // Through the execute-api URL the path carries the stage (`/dev/v1/auth/...`); through a custom domain it does not.
    const authPrefix = (prefix: string) => ({
      byteMatchStatement: {
        searchString: prefix,
        fieldToMatch: { uriPath: {} },
        positionalConstraint: "STARTS_WITH",
        textTransformations: [{ priority: 0, type: "LOWERCASE" }],
      },
    });
    const rateLimited = {
      block: {
        customResponse: {
          responseCode: 429,
          customResponseBodyKey: "rate_limited",
          responseHeaders: [...securityHeaders, { name: "Retry-After", value: "300" }],
        },
      },
    };

    this.webAcl = new CfnWebACL(this, "Acl", {
      name: `micropay-${props.stageName}`,
      description: `MicroPay ${props.stageName} API`,
      scope: "REGIONAL",
      defaultAction: { allow: {} },
      visibilityConfig: visibility("acl"),
      customResponseBodies: {
        rate_limited: {
          contentType: "APPLICATION_JSON",
          content: problemBody(
            429,
            "rate_limited",
            "Too Many Requests",
            "Too many requests; retry later.",
          ),
        },
        payload_too_large: {
          contentType: "APPLICATION_JSON",
          content: problemBody(
            413,
            "payload_too_large",
            "Content Too Large",
            "The request body is larger than 16 KiB.",
          ),
        },
      },
      rules: [
        {
          name: "auth-rate-per-ip",
          priority: 0,
          action: rateLimited,
          statement: {
            rateBasedStatement: {
              limit: props.authRatePerIp,
              evaluationWindowSec: 300,
              aggregateKeyType: "IP",
              scopeDownStatement: {
                orStatement: {
                  statements: [authPrefix("/v1/auth/"), authPrefix(`/${props.stageName}/v1/auth/`)],
                },
              },
            },
          },
          visibilityConfig: visibility("auth-rate"),
        },
        {
          name: "rate-per-ip",
          priority: 1,
          action: rateLimited,
          statement: {
            rateBasedStatement: {
              limit: props.ratePerIp,
              evaluationWindowSec: 300,
              aggregateKeyType: "IP",
            },
          },
          visibilityConfig: visibility("rate"),
        },
        {
          // The local gateway mirrors this rule (local/throttle.ts SlidingWindowLimit).
          name: "rate-per-api-key",
          priority: 2,
          action: rateLimited,
          statement: {
            rateBasedStatement: {
              limit: props.ratePerApiKey,
              evaluationWindowSec: 300,
              aggregateKeyType: "CUSTOM_KEYS",
              customKeys: [
                {
                  header: {
                    name: "authorization",
                    textTransformations: [{ priority: 0, type: "NONE" }],
                  },
                },
              ],
              scopeDownStatement: {
                byteMatchStatement: {
                  searchString: API_KEY_BEARER_PREFIX,
                  fieldToMatch: { singleHeader: { Name: "authorization" } },
                  positionalConstraint: "STARTS_WITH",
                  textTransformations: [{ priority: 0, type: "NONE" }],
                },
              },
            },
          },
          visibilityConfig: visibility("api-key-rate"),
        },
        {
          name: "body-size",
          priority: 3,
          action: {
            block: {
              customResponse: {
                responseCode: 413,
                customResponseBodyKey: "payload_too_large",
                responseHeaders: securityHeaders,
              },
            },
          },
          statement: {
            sizeConstraintStatement: {
              fieldToMatch: { body: { oversizeHandling: "MATCH" } },
              comparisonOperator: "GT",
              size: props.maxBodyBytes,
              textTransformations: [{ priority: 0, type: "NONE" }],
            },
          },
          visibilityConfig: visibility("body-size"),
        },
        managed(4, "AWSManagedRulesAmazonIpReputationList"),
        // Its 8 KB body rule would refuse bodies the API accepts; our 16 KiB rule above decides.
        managed(5, "AWSManagedRulesCommonRuleSet", ["SizeRestrictions_BODY"]),
        managed(6, "AWSManagedRulesKnownBadInputsRuleSet"),
        managed(7, "AWSManagedRulesSQLiRuleSet"),
      ],
    });

    new CfnWebACLAssociation(this, "Association", {
      resourceArn: props.apiStage.stageArn,
      webAclArn: this.webAcl.attrArn,
    });

    this.logGroup = new LogGroup(this, "Logs", {
      // WAF only logs to groups whose name starts with aws-waf-logs-.
      logGroupName: `aws-waf-logs-micropay-${props.stageName}`,
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
      encryptionKey: props.logsKey,
    });
    new CfnLoggingConfiguration(this, "Logging", {
      resourceArn: this.webAcl.attrArn,
      // The destination is the bare log group ARN (no trailing `:*`).
      logDestinationConfigs: [
        Stack.of(this).formatArn({
          service: "logs",
          resource: "log-group",
          resourceName: this.logGroup.logGroupName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
      redactedFields: [
        { singleHeader: { Name: "authorization" } },
        { singleHeader: { Name: "cookie" } },
      ],
    });
  }
}
