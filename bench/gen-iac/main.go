// Command gen-iac writes the three corpora of scripts/bench-iac.sh: N
// directories of one main.tf each, N .tf files in one directory, and N
// CloudFormation templates (half YAML, half JSON). Each file defines one KMS
// key; every other key rotates.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
)

func main() {
	out := flag.String("out", "", "directory to write tf-dirs/, tf-files/ and cfn/ into (required)")
	n := flag.Int("n", 2000, "keys per corpus")
	flag.Parse()
	if *out == "" {
		fmt.Fprintln(os.Stderr, "gen-iac: -out is required")
		os.Exit(2)
	}
	if err := generate(*out, *n); err != nil {
		fmt.Fprintln(os.Stderr, "gen-iac:", err)
		os.Exit(1)
	}
}

func generate(out string, n int) error {
	for i := range n {
		rotate := i%2 == 0
		files := map[string]string{
			filepath.Join(out, "tf-dirs", fmt.Sprintf("stack%04d", i), "main.tf"): terraform(i, rotate),
			filepath.Join(out, "tf-files", fmt.Sprintf("key%04d.tf", i)):          terraform(i, rotate),
		}
		if i%2 == 0 {
			files[filepath.Join(out, "cfn", fmt.Sprintf("stack%04d.yaml", i))] = yamlTemplate(i, rotate)
		} else {
			files[filepath.Join(out, "cfn", fmt.Sprintf("stack%04d.json", i))] = jsonTemplate(i, rotate)
		}
		for path, content := range files {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
				return err
			}
		}
	}
	return nil
}

func terraform(i int, rotate bool) string {
	return fmt.Sprintf(`variable "environment" {
  type    = string
  default = "prod"
}

resource "aws_kms_key" "key%04d" {
  description             = "key %d of ${var.environment}"
  enable_key_rotation     = %t
  deletion_window_in_days = 30

  tags = {
    Environment = var.environment
    Index       = "%d"
  }
}

resource "aws_kms_alias" "key%04d" {
  name          = "alias/key-%d"
  target_key_id = aws_kms_key.key%04d.key_id
}
`, i, i, rotate, i, i, i, i)
}

func yamlTemplate(i int, rotate bool) string {
	return fmt.Sprintf(`AWSTemplateFormatVersion: "2010-09-09"
Description: Stack %d
Parameters:
  Environment:
    Type: String
    Default: prod
Resources:
  Key:
    Type: AWS::KMS::Key
    Properties:
      Description: !Sub "key %d of ${Environment}"
      EnableKeyRotation: %t
      KeyPolicy:
        Version: "2012-10-17"
        Statement:
          - Sid: Enable IAM User Permissions
            Effect: Allow
            Principal:
              AWS: !Sub "arn:aws:iam::${AWS::AccountId}:root"
            Action: "kms:*"
            Resource: "*"
  KeyAlias:
    Type: AWS::KMS::Alias
    Properties:
      AliasName: alias/stack-%d
      TargetKeyId: !Ref Key
Outputs:
  KeyArn:
    Value: !GetAtt Key.Arn
`, i, i, rotate, i)
}

func jsonTemplate(i int, rotate bool) string {
	return fmt.Sprintf(`{
  "AWSTemplateFormatVersion": "2010-09-09",
  "Description": "Stack %d",
  "Resources": {
    "Key": {
      "Type": "AWS::KMS::Key",
      "Properties": {
        "Description": "key %d",
        "EnableKeyRotation": %t,
        "KeyPolicy": {
          "Version": "2012-10-17",
          "Statement": [{"Effect": "Allow", "Principal": {"AWS": {"Fn::Sub": "arn:aws:iam::${AWS::AccountId}:root"}}, "Action": "kms:*", "Resource": "*"}]
        }
      }
    },
    "KeyAlias": {
      "Type": "AWS::KMS::Alias",
      "Properties": {"AliasName": "alias/stack-%d", "TargetKeyId": {"Ref": "Key"}}
    }
  },
  "Outputs": {"KeyArn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}}}
}
`, i, i, rotate, i)
}
