import { CustomResource, Duration, type RemovalPolicy } from "aws-cdk-lib";
import { type IGrantable, PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import { Secret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { HouseFunction } from "./house-function.ts";

export interface SigningKeyProps {
  readonly stageName: string;
  readonly generatorEntry: string;
  readonly key: IKey;
  readonly logsKey: IKey;
  readonly logRetention: RetentionDays;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The JWT signing key: a Secrets Manager secret encrypted with its own KMS key, whose
 * value (an ES256 private JWK) is generated at deploy time by a small custom resource
 * function, so the key never appears in the template. Only functions granted with
 * `grantRead` (the route rows with `usesSigningKey`) can read it.
 */
export class SigningKey extends Construct {
  readonly secret: Secret;
  readonly generator: HouseFunction;
  /** The custom resource that writes the key; the API stage waits for it. */
  readonly generate: CustomResource;

  constructor(scope: Construct, id: string, props: SigningKeyProps) {
    super(scope, id);
    this.secret = new Secret(this, "Secret", {
      description: `MicroPay ${props.stageName}: ES256 JWT signing key (private JWK), generated at deploy`,
      encryptionKey: props.key,
      // Placeholder until the generator writes the JWK (same deployment, before any traffic).
      generateSecretString: { passwordLength: 32, excludePunctuation: true },
      // The stage's policy: RETAIN in prod (deleting the key invalidates every issued token).
      removalPolicy: props.removalPolicy,
    });
    this.generator = new HouseFunction(this, "Generator", {
      entry: props.generatorEntry,
      description: "MicroPay signing key generator (custom resource)",
      environment: {},
      logRetention: props.logRetention,
      removalPolicy: props.removalPolicy,
      logsKey: props.logsKey,
      memorySize: 256,
      timeout: Duration.seconds(30),
    });
    this.generator.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: "WriteSigningKey",
        actions: ["secretsmanager:PutSecretValue"],
        resources: [this.secret.secretArn],
      }),
    );
    this.generator.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: "SigningKeyEncrypt",
        actions: ["kms:GenerateDataKey", "kms:Decrypt"],
        resources: [props.key.keyArn],
      }),
    );
    this.generate = new CustomResource(this, "Generate", {
      serviceToken: this.generator.fn.functionArn,
      resourceType: "Custom::MicroPaySigningKey",
      properties: { SecretId: this.secret.secretArn },
    });
    this.generate.node.addDependency(this.generator.role.policy);
  }

  /** Read access for one function: GetSecretValue on this secret, Decrypt with its key. */
  grantRead(grantee: IGrantable, keyArn: string): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        sid: "ReadSigningKey",
        actions: ["secretsmanager:GetSecretValue"],
        resources: [this.secret.secretArn],
      }),
    );
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        sid: "SigningKeyDecrypt",
        actions: ["kms:Decrypt"],
        resources: [keyArn],
      }),
    );
  }
}
