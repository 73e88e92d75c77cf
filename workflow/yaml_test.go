package workflow_test

// verifiedPaymentYAML is the built-in definition written in YAML.
const verifiedPaymentYAML = `
name: verified_payment
version: "1"
description: Verify the sender's DID and its link to the paying address, score the payment's fraud risk, send it only if the sender is verified and the risk is below the threshold (input risk_threshold, 0.7 by default), and record it in the sender's data store.
inputs:
  payment_id: {type: string, required: true, description: the caller's idempotency key for this payment}
  sender_did: {type: string, required: true}
  sender_address: {type: string, required: true, description: the Bitcoin address paying}
  recipient_address: {type: string, required: true}
  amount_sat: {type: integer, required: true}
  credential: {type: string, description: a verifiable credential (VC-JWT) linking the DID to the sender address}
  risk_threshold: {type: number, description: the fraud risk at or above which the payment is not sent; 0.7 when not given}
steps:
  - id: verify_sender
    protocol: web5
    operation: web5.verify_identity
    input:
      did: "{{input.sender_did}}"
      address: "{{input.sender_address}}"
      credential: "{{input.credential}}"
    terminate_if: "!steps.verify_sender.sender_verified"
    timeout: 30s
    retry: {max_attempts: 3, backoff: 200ms}
  - id: fraud_assessment
    protocol: ml
    operation: ml.assess_risk
    input:
      amount_sat: "{{input.amount_sat}}"
      recipient_address: "{{input.recipient_address}}"
      verification_score: "{{steps.verify_sender.verification_score}}"
    timeout: 10s
    retry: {max_attempts: 3, backoff: 100ms}
  - id: send_payment
    protocol: bitcoin
    operation: bitcoin.send_payment
    if: "steps.verify_sender.sender_verified && steps.fraud_assessment.risk_score < (has(input.risk_threshold) ? input.risk_threshold : 0.7)"
    input:
      payment_id: "{{input.payment_id}}"
      from_address: "{{input.sender_address}}"
      to_address: "{{input.recipient_address}}"
      amount_sat: "{{input.amount_sat}}"
      risk_score: "{{steps.fraud_assessment.risk_score}}"
    timeout: 1m
    retry: {max_attempts: 10, backoff: 500ms, max_backoff: 30s}
  - id: record_payment
    protocol: web5
    operation: web5.record_payment
    if: has(steps.send_payment.txid)
    input:
      did: "{{input.sender_did}}"
      payment_id: "{{input.payment_id}}"
      txid: "{{steps.send_payment.txid}}"
      to_address: "{{input.recipient_address}}"
      amount_sat: "{{input.amount_sat}}"
      risk_score: "{{steps.fraud_assessment.risk_score}}"
    timeout: 30s
    retry: {max_attempts: 10, backoff: 500ms, max_backoff: 30s}
output:
  sender_verified: "{{steps.verify_sender.sender_verified}}"
  risk_score: "{{steps.fraud_assessment.risk_score}}"
  txid: "{{steps.send_payment.txid}}"
  record_id: "{{steps.record_payment.record_id}}"
`
