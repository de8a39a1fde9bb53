/** ECR authorization tokens are valid for 12 hours (ECR GetAuthorizationToken API reference). */
export const ECR_TOKEN_LIFETIME_HOURS = 12;
